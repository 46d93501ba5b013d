/**
 * npm run bench:control — does a training job slow down live scoring? End-to-end scoring latency of the real
 * pipeline (Kafka → StreamService on Redis windows → scores topic), readings produced at a paced rate, in phases:
 *
 *   idle         nothing else runs;
 *   training     train jobs back to back through the real JobRunner and train handler, in the same process as the
 *                stream (as the service runs them): file reading, alignment and fitting on a worker thread;
 *   main-thread  the same fitting called on the main thread (what the worker thread avoids), for contrast;
 *   detect-batch detect-batch jobs back to back through the JobRunner (2,000 rows of smd/machine-1-6's test file
 *                from row 5,000, nearly all anomalous, so every row is interpreted): scoring on a worker thread;
 *   batch-main   the same rows scored on the main thread in 1,000-row mini-batches with a yield between them
 *                (how detect-batch jobs ran before), for contrast.
 *
 * Latency of a frame = from the produce call of its reading (acks=all) to the receipt of its score on the scores
 * topic (p50/p99 over the phase), measured by a separate load process (this script with the argument `load`:
 * producer and score consumer), so a held-up service event loop shows in the figures. Everything runs on this
 * machine: Kafka, Redis, the load, the service and the training.
 * Env: KAFKA_BROKERS, REDIS_URL (defaults: the local infra), BENCH_DIR (bench data), BENCH_PHASE_SECONDS (20),
 * BENCH_ENTITIES (10), BENCH_TICK_MS (50: one timestamp for every entity per tick).
 */
import { fork } from 'node:child_process'
import { existsSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { logLevel } from 'kafkajs'
import { createKafka } from '../src/kafka/client.js'
import { Redis } from 'ioredis'
import { trainHandler } from '../src/control/handlers/train.js'
import { detectBatchHandler } from '../src/control/handlers/detect-batch.js'
import type { HandlerDeps } from '../src/control/handlers/deps.js'
import { JobRunner } from '../src/control/job-runner.js'
import type { ControlCommand } from '../src/control/commands.js'
import { alignTable } from '../src/data/align.js'
import { readOneTableFile } from '../src/data/files.js'
import { createScorer, fitModel, type ModelState } from '../src/model/index.js'
import { detectBatch } from '../src/pipeline/index.js'
import { formatIsoTimestamp } from '../src/data/timestamp.js'
import { MemoryJobStore } from '../src/state/job-store.js'
import { keySpace } from '../src/state/keys.js'
import { benchStreamService, percentile, waitUntil } from './bench-support.js'
import { RedisBindingStore } from '../src/state/redis-binding-store.js'
import { RedisModelStore } from '../src/state/redis-model-store.js'
import { MemoryResultStore } from '../src/state/result-store.js'

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',')
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:16379'
const PHASE_SECONDS = Number(process.env.BENCH_PHASE_SECONDS ?? 20)
const ENTITIES = Number(process.env.BENCH_ENTITIES ?? 10)
const TICK_MS = Number(process.env.BENCH_TICK_MS ?? 50)
const WINDOW = 200
const benchDir = process.env.BENCH_DIR ?? resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'bench')
const TRAIN_CSV = resolve(benchDir, 'smd', 'machine-1-6', 'train.csv')
const TEST_CSV = resolve(benchDir, 'smd', 'machine-1-6', 'test.csv')
/** detect-batch phases: rows [BATCH_FROM, BATCH_FROM + BATCH_ROWS) of TEST_CSV (a drifted stretch: all anomalous). */
const BATCH_FROM = 5_000
const BATCH_ROWS = 2_000

interface Topics {
  readings: string
  events: string
  scores: string
  deadLetter: string
}
type LoadRequest = { type: 'phase'; seconds: number } | { type: 'stop' }
type LoadReply = { type: 'ready' } | { type: 'phase'; frames: number; latencies: number[] }

/** The load process: paced producer of frame messages and consumer of their scores. */
async function runLoad(prefix: string, topics: Topics): Promise<void> {
  const kafka = createKafka({ clientId: `${prefix}-load`, brokers: BROKERS, logLevel: logLevel.NOTHING })
  const test = alignTable(await readOneTableFile(TEST_CSV))
  const sentAt = new Map<string, number>()
  const latencies: number[] = []
  const consumer = kafka.consumer({ groupId: `${prefix}.scores`, maxWaitTimeInMs: 20 })
  await consumer.connect()
  await consumer.subscribe({ topic: topics.scores, fromBeginning: true })
  await consumer.run({
    eachMessage: ({ message }) => {
      const event = JSON.parse(message.value?.toString() ?? '{}') as { entity: string; timestamp: string }
      const sent = sentAt.get(`${event.entity}@${Date.parse(event.timestamp)}`)
      if (sent !== undefined) latencies.push(performance.now() - sent)
      return Promise.resolve()
    },
  })
  const producer = kafka.producer()
  await producer.connect()
  let row = 0
  const produceFor = async (seconds: number): Promise<number> => {
    latencies.length = 0
    const start = performance.now()
    let frames = 0
    for (let tick = 0; (tick + 1) * TICK_MS <= seconds * 1000; tick++) {
      await sleep(Math.max(0, start + tick * TICK_MS - performance.now()))
      const source = test.rows[row % test.rows.length] as Float64Array
      const timestamp = Date.UTC(2030, 0, 1) + row * 60_000
      row++
      const value = JSON.stringify({
        timestamp,
        values: Object.fromEntries(test.variables.map((v, j) => [v, source[j]])),
      })
      const messages = Array.from({ length: ENTITIES }, (_, e) => ({ key: `entity-${e}`, value }))
      // Stamped before the send: a score can arrive before the produce acknowledgement is handled.
      const now = performance.now()
      for (let e = 0; e < ENTITIES; e++) sentAt.set(`entity-${e}@${timestamp}`, now)
      await producer.send({ topic: topics.readings, acks: -1, messages })
      frames += ENTITIES
    }
    await waitUntil(() => latencies.length >= frames, 120_000, 'scores of the phase')
    return frames
  }
  const send = (reply: LoadReply): void => void process.send?.(reply)
  process.on('message', (request: LoadRequest) => {
    if (request.type === 'stop') {
      void Promise.all([producer.disconnect(), consumer.disconnect()]).finally(() => process.exit(0))
      return
    }
    void produceFor(request.seconds).then((frames) => send({ type: 'phase', frames, latencies: [...latencies] }))
  })
  send({ type: 'ready' })
}

/** The service side: stream + training, with the load in a child process. */
async function runService(): Promise<void> {
  if (!existsSync(TRAIN_CSV)) throw new Error(`bench entity not found at ${TRAIN_CSV} (set BENCH_DIR)`)
  const prefix = `bench-ctl-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`
  const kafka = createKafka({ clientId: prefix, brokers: BROKERS, logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  const redis = new Redis(REDIS_URL)
  const keys = keySpace(prefix)
  const topics: Topics = {
    readings: `${prefix}.readings`,
    events: `${prefix}.events`,
    scores: `${prefix}.scores`,
    deadLetter: `${prefix}.dlq`,
  }
  const topicNames = [topics.readings, topics.events, topics.scores, topics.deadLetter]
  await admin.createTopics({
    topics: topicNames.map((topic) => ({ topic, numPartitions: 2 })),
    waitForLeaders: true,
  })
  const train = alignTable(await readOneTableFile(TRAIN_CSV))
  const models = new RedisModelStore(redis, keys)
  const bindings = new RedisBindingStore(redis, keys)
  const { state } = fitModel(train, { slidingWindow: WINDOW })
  await models.registerReady('smd', JSON.stringify(state), { variables: [...train.variables], slidingWindow: WINDOW })
  for (let e = 0; e < ENTITIES; e++) await bindings.set(`entity-${e}`, { modelId: 'smd' })
  const service = benchStreamService({ kafka, redis, keys, bindings, models, prefix, topics, partitions: 2 })
  await service.start()
  await waitUntil(() => service.isConsuming, 60_000, 'service group join')

  const load = fork(fileURLToPath(import.meta.url), ['load', prefix, JSON.stringify(topics)])
  const replies: LoadReply[] = []
  load.on('message', (reply: LoadReply) => replies.push(reply))
  await waitUntil(() => replies.some((r) => r.type === 'ready'), 60_000, 'load process')
  const phase = async (seconds: number): Promise<{ frames: number; sorted: number[] }> => {
    const before = replies.length
    load.send({ type: 'phase', seconds } satisfies LoadRequest)
    await waitUntil(() => replies.length > before, (seconds + 150) * 1000, 'load phase')
    const reply = replies[replies.length - 1] as LoadReply & { type: 'phase' }
    return { frames: reply.frames, sorted: [...reply.latencies].sort((a, b) => a - b) }
  }
  const report = (name: string, result: { frames: number; sorted: number[] }, extra = ''): number => {
    const p99 = percentile(result.sorted, 0.99)
    console.log(
      `${name.padEnd(12)} frames ${String(result.frames).padStart(5)}  p50 ${percentile(result.sorted, 0.5).toFixed(1).padStart(6)} ms  ` +
        `p99 ${p99.toFixed(1).padStart(7)} ms  max ${(result.sorted.at(-1) ?? Number.NaN).toFixed(1).padStart(7)} ms${extra}`,
    )
    return p99
  }

  try {
    console.log(
      `${(1000 / TICK_MS) * ENTITIES} frames/s (${ENTITIES} entities × ${train.variables.length} variables, ` +
        `window ${WINDOW}), ${PHASE_SECONDS} s per phase; training = smd/machine-1-6 (${train.rows.length} rows)`,
    )
    await phase(3) // warm-up: JIT, model load, windows created
    const idleP99 = report('idle', await phase(PHASE_SECONDS))

    const stopJobs = { value: false }
    const jobsRunning = jobsBackToBack(
      models,
      bindings,
      prefix,
      (n) => ({
        type: 'train',
        jobId: `train-${n}`,
        modelId: 'smd-retrain',
        source: { kind: 'file', path: TRAIN_CSV },
        slidingWindow: WINDOW,
      }),
      stopJobs,
    )
    const duringJobs = await phase(PHASE_SECONDS)
    stopJobs.value = true
    const jobsP99 = report('training', duringJobs, `  (${await jobsRunning} train jobs, worker thread)`)

    // The contrast phases stop on their own after PHASE_SECONDS: the load waits for the phase's last scores, which a
    // blocked event loop cannot deliver until they stop.
    const mainRunning = mainThreadTraining(train, Date.now() + PHASE_SECONDS * 1000)
    const duringMain = await phase(PHASE_SECONDS)
    report('main-thread', duringMain, `  (${await mainRunning} fits on the main thread, for contrast)`)

    const test = alignTable(await readOneTableFile(TEST_CSV))
    const range = {
      startTime: formatIsoTimestamp(test.timestamps[BATCH_FROM] as number),
      endTime: formatIsoTimestamp(test.timestamps[BATCH_FROM + BATCH_ROWS - 1] as number),
    }
    const stopBatches = { value: false }
    const batchesRunning = jobsBackToBack(
      models,
      bindings,
      `${prefix}-batch`,
      (n) => ({
        type: 'detect-batch',
        jobId: `batch-${n}`,
        modelId: 'smd',
        source: { kind: 'file', path: TEST_CSV },
        ...range,
      }),
      stopBatches,
    )
    const duringBatches = await phase(PHASE_SECONDS)
    stopBatches.value = true
    const batchP99 = report('detect-batch', duringBatches, `  (${await batchesRunning} jobs, worker thread)`)

    const batchMainRunning = mainThreadBatches(state, test, Date.now() + PHASE_SECONDS * 1000)
    const duringBatchMain = await phase(PHASE_SECONDS)
    report('batch-main', duringBatchMain, `  (${await batchMainRunning} passes on the main thread, for contrast)`)
    console.log(`p99 during detect-batch jobs / idle: ${(batchP99 / idleP99).toFixed(2)}×`)

    const ratio = jobsP99 / idleP99
    console.log(
      `p99 during training / idle: ${ratio.toFixed(2)}× (bar: ≤ 2×) — ${ratio <= 2 ? 'holds' : 'DOES NOT HOLD'}`,
    )
  } finally {
    load.send({ type: 'stop' } satisfies LoadRequest)
    await service.stop()
    await admin.deleteTopics({ topics: topicNames })
    await admin.disconnect()
    const stale = await redis.keys(`${prefix}*`)
    if (stale.length > 0) await redis.del(...stale)
    await redis.quit()
  }
}

/**
 * Jobs back to back through a JobRunner with the real handler of their type (in this process, as the service runs
 * them) until `stop` is set; `command(n)` is the n-th job's command. Returns how many ran.
 */
async function jobsBackToBack(
  models: RedisModelStore,
  bindings: RedisBindingStore,
  instanceId: string,
  command: (n: number) => ControlCommand,
  stop: { value: boolean },
): Promise<number> {
  const deps = { models, bindings, results: new MemoryResultStore(), chartsDir: '/tmp', resultTtlSeconds: 60 }
  const handlerDeps = deps as unknown as HandlerDeps
  const runner = new JobRunner({
    jobs: new MemoryJobStore(),
    handlers: { train: trainHandler(handlerDeps), 'detect-batch': detectBatchHandler(handlerDeps) } as never,
    status: { publish: () => Promise.resolve() },
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    instanceId,
  })
  runner.start()
  let jobs = 0
  for (; !stop.value; jobs++) {
    await runner.submit(command(jobs))
    await runner.idle()
  }
  await runner.stop()
  return jobs
}

/** The same rows scored on the main thread in 1,000-row mini-batches, yielding between them (the old way). */
async function mainThreadBatches(
  state: ModelState,
  test: Parameters<typeof detectBatch>[1],
  until: number,
): Promise<number> {
  const scorer = createScorer(state)
  let passes = 0
  for (; Date.now() < until; passes++) {
    for (let i = BATCH_FROM; i < BATCH_FROM + BATCH_ROWS && Date.now() < until; i += 1_000) {
      await sleep(1)
      detectBatch(scorer, test, {
        slidingWindow: WINDOW,
        range: { startTime: test.timestamps[i] as number, endTime: test.timestamps[i + 999] as number },
      })
    }
  }
  return passes
}

/** The same fitting on the main thread, between other work (what the worker thread avoids). */
async function mainThreadTraining(train: Parameters<typeof fitModel>[0], until: number): Promise<number> {
  let fits = 0
  for (; Date.now() < until; fits++) {
    await sleep(1)
    fitModel(train, { slidingWindow: WINDOW })
  }
  return fits
}

if (process.argv[2] === 'load') await runLoad(process.argv[3] ?? '', JSON.parse(process.argv[4] ?? '{}') as Topics)
else await runService()
