/**
 * The control plane against real Kafka and Redis: the service (in-process, real detection core) takes commands
 * from its control topic and runs them as jobs — train from a file and from a topic range, deploy, live events,
 * detect-batch over a topic range equal to the offline CLI, idempotency, dead letters, cancel, and a crash mid-job.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest'
import { Redis } from 'ioredis'
import { type App } from '../../src/app.js'
import { keySpace } from '../../src/state/keys.js'
import { RedisBindingStore } from '../../src/state/redis-binding-store.js'
import { RedisModelStore } from '../../src/state/redis-model-store.js'
import { RedisResultStore } from '../../src/state/redis-result-store.js'
import { loadCoreModel } from '../../src/stream/core-model-loader.js'
import { testApp } from '../support/test-app.js'
import { ControlClient, TopicCollector, csvText, frameMessages, readCsvRows } from '../support/control-harness.js'
import { topicNames, uniquePrefix } from '../support/names.js'
import { jsonSchemaProblems } from '../support/json-schema.js'

const run = promisify(execFile)
const ROOT = new URL('../../', import.meta.url).pathname
const CLI = join(ROOT, 'dist/src/cli/main.js')
const MAIN = join(ROOT, 'dist/src/main.js')
const BENCH = join(ROOT, '../shared/data/bench')
const OMI = join(BENCH, 'asd/omi-1')
const WINDOW = 60

/** A train command for the omi-1 training file. */
const trainOmiFile = (jobId: string, modelId: string, slidingWindow: number) => ({
  type: 'train',
  jobId,
  modelId,
  source: { kind: 'file', path: join(OMI, 'train.csv') },
  slidingWindow,
})

const prefix = uniquePrefix('ctl')
const topics = { ...topicNames(prefix), results: `${prefix}.results` }

describe('control topic: jobs on real Kafka and Redis', () => {
  const work = mkdtempSync(join(tmpdir(), 'mvad-control-'))
  const redis = new Redis(inject('redisUrl'))
  const keys = keySpace(prefix)
  const models = new RedisModelStore(redis, keys)
  const client = new ControlClient(inject('kafkaBrokers').split(','), redis, prefix, topics.control)
  const scores = new TopicCollector()
  const status = new TopicCollector()
  const dlq = new TopicCollector()
  const results = new TopicCollector()

  /** Streams the first `count` test rows as `entity` and waits (30 s at most) for their scores; returns how many came. */
  async function streamTestRows(entity: string, count: number): Promise<number> {
    await client.produce(
      topics.readings,
      frameMessages(entity, { header: test.header, rows: test.rows.slice(0, count) }),
    )
    const deadline = Date.now() + 30_000
    const mine = (): number => scores.messages.filter((m) => m.key === entity).length
    while (mine() < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    return mine()
  }
  let app: App
  const test = readCsvRows(join(OMI, 'test.csv'))

  beforeAll(async () => {
    for (const file of [CLI, MAIN]) expect(existsSync(file), `${file} missing: run "npm run build" first`).toBe(true)
    expect(existsSync(OMI), `bench data missing at ${OMI}`).toBe(true)
    app = testApp(prefix, {
      MVAD_PUBLISH_SCORES: 'true',
      MVAD_JOB_LEASE_MS: '2000',
      MVAD_CONTROL_FILE_ROOTS: BENCH, // the data the commands name; other files are refused
      MVAD_CHARTS_DIR: join(work, 'charts'),
    })
    await app.start()
    await scores.start(client.kafka, topics.scores, `${prefix}.c-scores`)
    await status.start(client.kafka, topics.status, `${prefix}.c-status`)
    await dlq.start(client.kafka, topics.dlq, `${prefix}.c-dlq`)
    await results.start(client.kafka, topics.results, `${prefix}.c-results`)
    // The model most tests use, trained through the control topic from a file.
    await client.send({
      type: 'train',
      jobId: 'train-file',
      modelId: 'omi',
      displayName: 'omi-1 servers',
      source: { kind: 'file', path: join(OMI, 'train.csv') },
      slidingWindow: WINDOW,
      charts: true,
    })
    await client.finished('train-file')
  }, 120_000)

  afterAll(async () => {
    await Promise.all([scores.stop(), status.stop(), dlq.stop(), results.stop()])
    await app?.stop('test done')
    const stale = await redis.keys(`${prefix}*`)
    if (stale.length > 0) await redis.del(...stale)
    await redis.quit()
  })

  it('trains from a file to a READY version with diagnostics, deploys it, and the stream scores with it', async () => {
    const job = await client.jobs.get('train-file')
    expect(job).toMatchObject({ status: 'READY', progress: 100, result: { modelId: 'omi', version: 1, rows: 8640 } })
    const charts = (job?.result as { charts: string[] }).charts
    for (const chart of charts) expect(existsSync(chart), chart).toBe(true)
    const info = await models.getInfo('omi', 1)
    expect(info).toMatchObject({
      status: 'READY',
      displayName: 'omi-1 servers',
      slidingWindow: WINDOW,
      jobId: 'train-file',
    })
    expect(info?.variables).toHaveLength(19)
    expect(info?.diagnosticsInfo).toMatchObject({ modelState: { epochIds: [1] } })

    await client.send({ type: 'deploy', jobId: 'deploy-1', modelId: 'omi', entities: ['pump-a'] })
    expect(await client.finished('deploy-1')).toMatchObject({
      status: 'READY',
      result: { version: 1, mode: 'default' },
    })
    expect(await new RedisBindingStore(redis, keys).get('pump-a')).toEqual({ modelId: 'omi', version: 1 })

    const scored = await streamTestRows('pump-a', 200)
    if (scored !== 200)
      console.log(
        'DLQ',
        JSON.stringify(
          dlq.messages
            .slice(0, 3)
            .map((m) => [
              m.key,
              m.value.slice(0, 200),
              m.headers['mvad-dlq-reason']?.toString(),
              m.headers['mvad-dlq-detail']?.toString(),
            ]),
        ),
      )
    expect(scored).toBe(200)
    const first = JSON.parse(scores.messages.find((m) => m.key === 'pump-a')?.value ?? '{}') as Record<string, unknown>
    expect(first).toMatchObject({ entity: 'pump-a', modelId: 'omi', modelVersion: 1, timestamp: test.rows[0]?.[0] })
  }, 60_000)

  it('scores a shadow model (another window) alongside the default, tagged shadow, with its own numbers', async () => {
    const train = readCsvRows(join(OMI, 'train.csv'))
    const shadowWindow = 40
    expect(await client.run(trainOmiFile('train-shadow', 'omi-shadow', shadowWindow))).toMatchObject({
      status: 'READY',
    })
    await client.send({ type: 'deploy', jobId: 'deploy-s1', modelId: 'omi', entities: ['pump-s'] })
    expect(
      await client.run({
        type: 'deploy',
        jobId: 'deploy-s2',
        modelId: 'omi-shadow',
        entities: ['pump-s'],
        mode: 'shadow',
      }),
    ).toMatchObject({ status: 'READY', result: { mode: 'shadow' } })
    expect(await new RedisBindingStore(redis, keys).get('pump-s')).toEqual({
      modelId: 'omi',
      version: 1,
      shadow: { modelId: 'omi-shadow', version: 1 },
    })

    const count = 100
    await client.produce(
      topics.readings,
      frameMessages('pump-s', { header: test.header, rows: test.rows.slice(0, count) }),
    )
    const mine = (): typeof scores.messages => scores.messages.filter((m) => m.key === 'pump-s')
    const deadline = Date.now() + 30_000
    while (mine().length < 2 * count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    const shadowEvents = mine().filter((m) => m.headers['mvad-shadow']?.toString() === 'true')
    const defaultEvents = mine().filter((m) => m.headers['mvad-shadow'] === undefined)
    expect(defaultEvents).toHaveLength(count)
    expect(shadowEvents).toHaveLength(count)
    const parsed = shadowEvents.map((m) => JSON.parse(m.value) as { shadow: boolean; modelId: string; score: number })
    expect(parsed.every((e) => e.shadow && e.modelId === 'omi-shadow')).toBe(true)

    // The same numbers as the shadow model scoring training tail + readings directly (variables in its order).
    const stored = await models.getReadyState('omi-shadow')
    const shadowModel = loadCoreModel(stored?.stateJson ?? '', { modelId: 'omi-shadow', version: 1 })
    const history = [...train.rows.slice(-(WINDOW - 1)), ...test.rows.slice(0, count)]
    const column = shadowModel.variables.map((v) => train.header.indexOf(v))
    const rows = history.map((row) => Float64Array.from(column, (c) => Number(row[c])))
    const expected = Array.from({ length: count }, (_, i) => {
      const end = WINDOW - 1 + i
      return shadowModel.scoreLast(rows.slice(end - shadowWindow + 1, end + 1), 10).score
    })
    expect(parsed.map((e) => e.score)).toEqual(expected)
  }, 90_000)

  it('trains from a time range of the readings topic', async () => {
    const train = readCsvRows(join(OMI, 'train.csv'), 600)
    await client.produce(topics.readings, frameMessages('from-topic', train))
    await client.send({
      type: 'train',
      jobId: 'train-topic',
      modelId: 'omi-topic',
      source: { kind: 'topic', entity: 'from-topic' },
      startTime: train.rows[100]?.[0],
      slidingWindow: WINDOW,
    })
    const job = await client.finished('train-topic')
    expect(job).toMatchObject({ status: 'READY', result: { modelId: 'omi-topic', version: 1, rows: 500 } })
    expect((await models.getInfo('omi-topic'))?.variables).toEqual(train.header.slice(1))
  }, 60_000)

  it('trains from the windows history in Redis (the rows an entity streamed, as scored), if it holds enough', async () => {
    // pump-a's window keeps its model's 60 rows: fewer than one window of 28 plus 100 rows to calibrate θ on.
    const fromWindow = (jobId: string, modelId: string, entity: string) => ({
      type: 'train',
      jobId,
      modelId,
      source: { kind: 'window', entity },
      slidingWindow: 28,
    })
    expect(await client.run(fromWindow('train-window-short', 'omi-window-short', 'pump-a'))).toMatchObject({
      status: 'FAILED',
      errors: [{ code: 'NotEnoughInput', message: expect.stringContaining('at least 128 rows') as unknown }],
    })
    // A model with a 130-row window, deployed to pump-w and streamed 130 frames, keeps enough.
    expect(await client.run(trainOmiFile('train-wide', 'omi-wide', 130))).toMatchObject({ status: 'READY' })
    await client.send({ type: 'deploy', jobId: 'deploy-w', modelId: 'omi-wide', entities: ['pump-w'] })
    expect(await client.finished('deploy-w')).toMatchObject({ status: 'READY' })
    expect(await streamTestRows('pump-w', 130)).toBe(130)
    const job = await client.run(fromWindow('train-window', 'omi-window', 'pump-w'))
    expect(job).toMatchObject({ status: 'READY', result: { modelId: 'omi-window', rows: 130 } })
    const info = await models.getInfo('omi-window')
    expect(info?.variables).toEqual(test.header.slice(1))
    expect(info?.trainingRequest).toMatchObject({ source: { kind: 'window', entity: 'pump-w' } })
  }, 90_000)

  it('detect-batch over a topic range gives the offline CLI results row for row, stored and on the results topic', async () => {
    // A results topic that takes at most 16 KB a batch: the rows of one slice (all keyed by the job, one record
    // batch) must be cut into requests that fit, as a 1 MB broker limit needs for anomalous rows with 30 contributors.
    await client.setTopicConfig(topics.results, 'max.message.bytes', '16384')
    onTestFinished(() => client.setTopicConfig(topics.results, 'max.message.bytes', '1048588')) // the default
    const rows = { header: test.header, rows: test.rows.slice(1000, 1500) }
    await client.produce(topics.readings, [
      ...frameMessages('replay-1', rows),
      // Failed records, listed in the result and left out of the rows: one undecodable, one unknown variable.
      { key: 'replay-1', value: 'not json' },
      { key: 'replay-1', value: JSON.stringify({ timestamp: rows.rows[10]?.[0], values: { stray: 1 } }) },
    ])
    await client.send({
      type: 'detect-batch',
      jobId: 'batch-topic',
      modelId: 'omi',
      source: { kind: 'topic', entity: 'replay-1' },
      startTime: rows.rows[WINDOW]?.[0],
      endTime: rows.rows[499]?.[0],
      topContributorCount: 5,
      output: { topic: topics.results, store: true },
      options: { miniBatchSize: 64 },
    })
    const job = await client.finished('batch-topic')
    expect(job).toMatchObject({ status: 'READY', result: { resultId: 'batch-topic', modelVersion: 1, rows: 440 } })
    const stored = await new RedisResultStore(redis, keys).get('batch-topic')
    expect(stored?.summary).toMatchObject({ status: 'READY', errors: [], setupInfo: { topContributorCount: 5 } })
    expect(stored?.summary.variableStates).toHaveLength(19)
    expect(stored?.failedRecords).toEqual([
      expect.objectContaining({ offset: expect.any(String) as unknown, reason: expect.any(String) as unknown }),
      expect.objectContaining({
        reason: 'unknown_variable',
        detail: "variable stray is not one of the model's variables",
      }),
    ])

    const state = await models.getReadyState('omi', 1)
    writeFileSync(join(work, 'omi.json'), state?.stateJson ?? '')
    writeFileSync(join(work, 'replay.csv'), csvText(rows))
    await run(process.execPath, [
      CLI,
      'detect',
      '--model',
      join(work, 'omi.json'),
      '--input',
      join(work, 'replay.csv'),
      '--out',
      join(work, 'replay.jsonl'),
      '--top-contributors',
      '5',
      '--start-time',
      rows.rows[WINDOW]?.[0] ?? '',
      '--end-time',
      rows.rows[499]?.[0] ?? '',
    ])
    const offline = readFileSync(join(work, 'replay.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown)
    expect(stored?.results).toHaveLength(440)
    const diffs = (stored?.results ?? [])
      .map((r, i) => [JSON.stringify(r), JSON.stringify(offline[i])])
      .filter(([a, b]) => a !== b)
    if (diffs.length > 0)
      console.log('DIFF', diffs.length, diffs[0]?.[0]?.slice(0, 600), '\n', diffs[0]?.[1]?.slice(0, 600))
    expect(stored?.results).toEqual(offline)

    const deadline = Date.now() + 20_000
    while (results.messages.length < 440 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    expect(results.messages).toHaveLength(440)
    expect(JSON.parse(results.messages[0]?.value ?? '{}')).toMatchObject({ resultId: 'batch-topic', modelVersion: 1 })
    const rowProblems = jsonSchemaProblems('detect-batch-output-row.v1.json')
    expect(results.messages.flatMap((m) => rowProblems(JSON.parse(m.value)))).toEqual([])
  }, 90_000)

  it('runs a command delivered twice once', async () => {
    const command = {
      type: 'train',
      jobId: 'twice',
      modelId: 'omi-twice',
      source: { kind: 'file', path: join(OMI, 'train.csv') },
      slidingWindow: WINDOW,
    }
    await client.send(command)
    await client.send(command)
    await client.finished('twice')
    await client.send({ type: 'delete-model', jobId: 'after-twice', modelId: 'does-not-exist' })
    await client.finished('after-twice') // commands are consumed in order: the duplicate was seen before this one
    expect((await models.listVersions('omi-twice')).map((v) => v.version)).toEqual([1])
    const statuses = status.messages
      .filter((m) => m.key === 'twice')
      .map((m) => (JSON.parse(m.value) as { status: string }).status)
    expect(statuses.filter((s) => s === 'READY')).toHaveLength(1)
  }, 60_000)

  it('dead-letters malformed commands with a reason and keeps consuming', async () => {
    await client.send('{"type": "train", oops')
    await client.send({ type: 'explode', jobId: 'bad-type' })
    await client.send({ type: 'deploy', jobId: 'bad-deploy', modelId: 'omi' })
    await client.send({ type: 'delete-model', jobId: 'after-bad', modelId: 'nope' })
    expect(await client.finished('after-bad')).toMatchObject({ status: 'FAILED', errors: [{ code: 'ModelNotExist' }] })
    // A jobId already used by another command, and a cancel that names itself.
    await client.send({ type: 'delete-model', jobId: 'after-bad', modelId: 'another' })
    await client.send({ type: 'cancel', jobId: 'self-cancel', targetJobId: 'self-cancel' })
    expect(await client.finished('self-cancel')).toMatchObject({
      status: 'FAILED',
      errors: [{ code: 'InvalidRequestParameterError', message: 'cancel self-cancel names itself as its target' }],
    })
    const deadline = Date.now() + 10_000
    // The stream dead-letters readings on the same topic: look at the control topic's letters.
    const fromControl = () => dlq.messages.filter((m) => m.headers['mvad-source-topic']?.toString() === topics.control)
    while (fromControl().length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    const reasons = fromControl().map((m) => [
      m.headers['mvad-dlq-reason']?.toString(),
      m.headers['mvad-dlq-detail']?.toString(),
    ])
    expect(reasons[0]?.[0]).toBe('malformed_json')
    expect(reasons[1]).toEqual(['unknown_type', expect.stringContaining('"type" must be one of') as unknown])
    expect(reasons[2]).toEqual([
      'invalid_command',
      expect.stringContaining("must have required property 'entities'") as unknown,
    ])
    expect(reasons[3]).toEqual([
      'job_id_conflict',
      expect.stringContaining('jobId after-bad names a delete-model job made by another command') as unknown,
    ])
    expect(await client.jobs.get('bad-deploy')).toBeUndefined()
  }, 30_000)

  it('refuses to delete a model in use, and fails jobs with MVAD codes', async () => {
    await client.send({ type: 'delete-model', jobId: 'del-in-use', modelId: 'omi' })
    expect(await client.finished('del-in-use')).toMatchObject({
      status: 'FAILED',
      errors: [{ code: 'ModelInUse', message: expect.stringContaining('pump-a') as unknown }],
    })
    expect(await client.run(trainOmiFile('bad-window', 'x', 5))).toMatchObject({
      status: 'FAILED',
      errors: [{ code: 'InvalidSlidingWindow' }],
    })
    // A file outside MVAD_CONTROL_FILE_ROOTS is not read (its first line would be quoted in the job's error).
    const outside = { ...trainOmiFile('outside-roots', 'nosy', 60), source: { kind: 'file', path: '/etc/hostname' } }
    expect(await client.run(outside)).toMatchObject({
      status: 'FAILED',
      errors: [
        {
          code: 'InvalidRequestParameterError',
          message: expect.stringContaining('MVAD_CONTROL_FILE_ROOTS') as unknown,
        },
      ],
    })
    expect(await models.getInfo('nosy')).toBeUndefined()
    expect(
      await client.run({
        type: 'detect-batch',
        jobId: 'not-ready',
        modelId: 'ghost',
        source: { kind: 'file', path: join(OMI, 'test.csv') },
        startTime: '2024-01-07T00:00:00Z',
        endTime: '2024-01-07T01:00:00Z',
      }),
    ).toMatchObject({ status: 'FAILED', errors: [{ code: 'ModelNotExist' }] })
    await client.send({ type: 'deploy', jobId: 'shadow', modelId: 'omi', entities: ['pump-a'], mode: 'shadow' })
    expect(await client.finished('shadow')).toMatchObject({
      status: 'FAILED',
      errors: [{ code: 'InvalidRequestParameterError' }],
    })
    await client.send({ type: 'delete-model', jobId: 'del-ok', modelId: 'omi-twice' })
    expect(await client.finished('del-ok')).toMatchObject({ status: 'READY' })
    expect(await models.getInfo('omi-twice')).toBeUndefined()
  }, 60_000)

  it('publishes status messages that match schemas/json/job-status.v1.json, for every job type and outcome', () => {
    const problems = jsonSchemaProblems('job-status.v1.json')
    const messages = status.messages.map((m) => JSON.parse(m.value) as { jobId: string; type: string; status: string })
    expect(new Set(messages.map((m) => m.type))).toEqual(
      new Set(['train', 'detect-batch', 'deploy', 'delete-model', 'cancel']),
    )
    expect(new Set(messages.map((m) => m.status))).toEqual(new Set(['CREATED', 'RUNNING', 'READY', 'FAILED']))
    const invalid = messages.flatMap((m) => {
      const found = problems(m)
      return found.length === 0 ? [] : [{ jobId: m.jobId, status: m.status, problems: found }]
    })
    expect(invalid).toEqual([])
  })
})
