import { describe, expect, it } from 'vitest'
import { runScoreTask, type ScoreTask } from '../../../src/control/score-task.js'
import { scoreInWorker } from '../../../src/control/score-in-worker.js'
import { createScorer, fitModel } from '../../../src/model/index.js'
import { detectBatch } from '../../../src/pipeline/index.js'
import { syntheticSeries } from '../model/synthetic.js'

const W = 28
const { state } = fitModel(syntheticSeries(400, 4, 3), { slidingWindow: W })
const series = syntheticSeries(300, 4, 9)
for (let t = 150; t < 160; t++) (series.rows[t] as Float64Array)[2] = 6 // anomalous rows, so interpretations too
const task: ScoreTask = { state, series, lo: 40, hi: 290, chunkRows: 64, slidingWindow: W, topContributorCount: 3 }
const whole = detectBatch(createScorer(state), series, {
  slidingWindow: W,
  topContributorCount: 3,
  range: { startTime: series.timestamps[40] as number, endTime: series.timestamps[289] as number },
}).results

describe('runScoreTask (the worker-thread part of a detect-batch job)', () => {
  it('gives the rows of one unchunked pass, mini-batch by mini-batch, with progress up to 1', () => {
    const fractions: number[] = []
    const results: typeof whole = []
    expect(
      runScoreTask(task, (p) => {
        results.push(...p.results)
        fractions.push(p.fraction)
      }),
    ).toBe(250)
    expect(results).toEqual(whole)
    expect(results.some((r) => r.value?.isAnomaly === true)).toBe(true)
    expect(fractions).toEqual([64, 128, 192, 250].map((n) => n / 250))
  })
})

describe('scoreInWorker', () => {
  it('returns what the main thread computes', async () => {
    const fractions: number[] = []
    expect(await scoreInWorker(task, new AbortController().signal, (f) => fractions.push(f))).toEqual(whole)
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
})
