import { writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { expectFreshBuild } from '../../support/built.js'
import { runScoreTask, type ScoreProgress, type ScoreTask } from '../../../src/control/score-task.js'
import { scoreInWorker } from '../../../src/control/score-in-worker.js'
import { packReadings } from '../../../src/control/readings-series.js'
import type { TopicRead } from '../../../src/control/sources.js'
import { formatIsoTimestamp } from '../../../src/data/timestamp.js'
import { DEFAULT_ALIGN_POLICY } from '../../../src/domain/types.js'
import { createScorer, fitModel } from '../../../src/model/index.js'
import { detectBatch } from '../../../src/pipeline/index.js'
import { syntheticSeries } from '../model/synthetic.js'

const W = 28
const { state } = fitModel(syntheticSeries(400, 4, 3), { slidingWindow: W })
const series = syntheticSeries(300, 4, 9)
for (let t = 150; t < 160; t++) (series.rows[t] as Float64Array)[2] = 6 // anomalous rows, so interpretations too
const startTime = series.timestamps[40] as number
const endTime = series.timestamps[289] as number
const afterData = (series.timestamps[299] as number) + 60_000
const task: ScoreTask = {
  state,
  source: { kind: 'loaded', loaded: { series, dataSource: 'test series', failedRecords: [] } },
  startTime,
  endTime,
  errorThreshold: -1,
  chunkRows: 64,
  slidingWindow: W,
  topContributorCount: 3,
}
const whole = detectBatch(createScorer(state), series, {
  slidingWindow: W,
  topContributorCount: 3,
  range: { startTime, endTime },
}).results

/** The same series as a topic range (one reading per variable and row), plus a reading of a variable not in the model. */
function seriesTopicRead(): TopicRead {
  const readings = series.rows.flatMap((row, t) =>
    series.variables.map((variable, j) => ({
      variable,
      timestamp: series.timestamps[t] as number,
      value: row[j] as number,
      offset: BigInt(t * series.variables.length + j),
      partition: 0,
    })),
  )
  readings.push({
    variable: 'stray',
    timestamp: series.timestamps[5] as number,
    value: 1,
    offset: 99_999n,
    partition: 0,
  })
  return { readings: packReadings(readings), rejected: [], dataSource: 'kafka://readings/e1' }
}

/** A topic source of the model's variables over seriesTopicRead() (fresh each time: the worker takes its buffers). */
function topicSource(): ScoreTask['source'] {
  return { kind: 'topic', read: seriesTopicRead(), alignPolicy: DEFAULT_ALIGN_POLICY, variables: series.variables }
}

/** The same series as a OneTable CSV file (what a file source reads). */
function seriesFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'score-task-')), 'data.csv')
  const lines = series.rows.map((row, t) => [formatIsoTimestamp(series.timestamps[t] as number), ...row].join(','))
  writeFileSync(path, [['timestamp', ...series.variables].join(','), ...lines].join('\n'))
  return path
}

describe('runScoreTask (the worker-thread part of a detect-batch job)', () => {
  it('gives the rows of one unchunked pass, mini-batch by mini-batch, with progress up to 1', async () => {
    const steps: ScoreProgress[] = []
    const outcome = await runScoreTask(task, (p) => steps.push(p))
    expect(outcome).toMatchObject({ rows: 250, dataSource: 'test series', failedRecords: [], warnings: [] })
    expect(steps.flatMap((p) => p.results)).toEqual(whole)
    expect(whole.some((r) => r.value?.isAnomaly === true)).toBe(true)
    expect(steps.map((p) => p.fraction)).toEqual([0.2, ...[64, 128, 192, 250].map((n) => 0.2 + (0.8 * n) / 250)])
  })

  it('warns when the data starts long after training, so the training tail cannot be its history', async () => {
    const tail = { rows: state.payload.trainingTail, lastTimestamp: (series.timestamps[0] as number) - 86_400_000 }
    const early = { ...task, startTime: series.timestamps[0] as number, trainingTail: tail }
    const outcome = await runScoreTask(early, () => undefined)
    expect(outcome.warnings).toEqual([
      `the data starts 1440 min after the training data ended, so the model's training tail is not its history: the first rows need ${W - 1} rows before them in the data`,
    ])
    // With history of its own before startTime, nothing was missed: no warning.
    expect((await runScoreTask({ ...task, trainingTail: tail }, () => undefined)).warnings).toEqual([])
  })

  it('reads a file source itself, as the model was trained', async () => {
    const path = seriesFile()
    const source: ScoreTask['source'] = {
      kind: 'file',
      path,
      alignPolicy: DEFAULT_ALIGN_POLICY,
      variables: series.variables,
    }
    const results: ScoreProgress['results'] = []
    const outcome = await runScoreTask({ ...task, source }, (p) => results.push(...p.results))
    expect(outcome.dataSource).toBe(path)
    expect(outcome.variableStates.map((v) => (v as { variable: string }).variable)).toEqual(series.variables)
    // As MVAD's batch summary: the states describe the detection window (rows 40–289), not the history before it.
    expect(outcome.variableStates[0]).toEqual({
      variable: series.variables[0],
      filledNARatio: 0,
      effectiveCount: 250,
      firstTimestamp: formatIsoTimestamp(startTime),
      lastTimestamp: formatIsoTimestamp(endTime),
    })
    expect(results.map((r) => r.timestamp)).toEqual(whole.map((r) => r.timestamp))
    expect(results.filter((r) => r.value?.isAnomaly).length).toBe(whole.filter((r) => r.value?.isAnomaly).length)
  })

  it('aligns a topic range itself, as the stream aligned it, and lists readings of unknown variables', async () => {
    const source = topicSource()
    const results: ScoreProgress['results'] = []
    const outcome = await runScoreTask({ ...task, source }, (p) => results.push(...p.results))
    expect(outcome.dataSource).toBe('kafka://readings/e1')
    expect(outcome.variableStates[0]).toMatchObject({
      effectiveCount: 250,
      firstTimestamp: formatIsoTimestamp(startTime),
      lastTimestamp: formatIsoTimestamp(endTime),
    })
    expect(outcome.failedRecords).toEqual([
      {
        partition: 0,
        offset: '99999',
        reason: 'unknown_variable',
        detail: "variable stray is not one of the model's variables",
      },
    ])
    expect(results).toEqual(whole)
    await expect(runScoreTask({ ...task, source, errorThreshold: 0 }, () => undefined)).rejects.toMatchObject({
      code: 'ErrorThresholdExceeded',
    })
  })

  it('answers bad input with MVAD codes', async () => {
    const none = { ...task, startTime: afterData, endTime: afterData + 60_000 }
    await expect(runScoreTask(none, () => undefined)).rejects.toMatchObject({ code: 'NoData' })
    const failed = { series, dataSource: 'topic t', failedRecords: [{ reason: 'bad' }, { reason: 'bad' }] }
    const strict = { ...task, source: { kind: 'loaded' as const, loaded: failed as never }, errorThreshold: 1 }
    await expect(runScoreTask(strict, () => undefined)).rejects.toMatchObject({ code: 'ErrorThresholdExceeded' })
  })

  it('refuses a topic range with no reading at all of a model variable (NoData), as files are refused', async () => {
    const read = seriesTopicRead()
    const missing = series.variables[1] as string
    const kept = packReadings(
      Array.from({ length: read.readings.count }, (_, i) => ({
        variable: read.readings.names[read.readings.variable[i] as number] as string,
        timestamp: read.readings.timestamp[i] as number,
        value: read.readings.value[i] as number,
        offset: read.readings.offset[i] as bigint,
        partition: 0,
      })).filter((r) => r.variable !== missing),
    )
    const source = { ...(topicSource() as object), read: { ...read, readings: kept } } as ScoreTask['source']
    await expect(runScoreTask({ ...task, source }, () => undefined)).rejects.toMatchObject({
      code: 'NoData',
      message: `kafka://readings/e1: no reading at all for '${missing}' (every row would be filled with made-up values); give such a variable data`,
    })
  })
})

describe('scoreInWorker', () => {
  beforeAll(() => expectFreshBuild('dist/src/control/score-worker.js'))
  it('returns what the main thread computes', async () => {
    const fractions: number[] = []
    const outcome = await scoreInWorker(task, new AbortController().signal, (f) => fractions.push(f))
    expect(outcome.results).toEqual(whole)
    expect(outcome.rows).toBe(250)
    expect(fractions.at(-1)).toBe(1)
  })

  it('is canceled through its signal, before or while it runs', async () => {
    const before = new AbortController()
    before.abort()
    await expect(scoreInWorker(task, before.signal, () => undefined)).rejects.toMatchObject({ code: 'JobCanceled' })
    const during = new AbortController()
    const running = scoreInWorker({ ...task, chunkRows: 1 }, during.signal, () => during.abort())
    await expect(running).rejects.toMatchObject({ code: 'JobCanceled', message: 'the job was canceled during scoring' })
  })

  it('aligns a topic range on the worker thread: same rows as the main thread', async () => {
    const source = topicSource()
    const outcome = await scoreInWorker({ ...task, source }, new AbortController().signal, () => undefined)
    expect(outcome.results).toEqual(whole)
    expect(outcome.failedRecords).toHaveLength(1)
  })

  it('passes the task errors on with their codes', async () => {
    const none = { ...task, startTime: afterData, endTime: afterData + 60_000 }
    await expect(scoreInWorker(none, new AbortController().signal, () => undefined)).rejects.toMatchObject({
      code: 'NoData',
    })
  })
})
