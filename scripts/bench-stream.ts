/**
 * npm run bench:stream — sustained throughput and end-to-end latency of the scoring stream on real Kafka + Redis,
 * with, measured in the same run on the same broker, a bare kafkajs consume→produce loop as the ceiling.
 *
 * Workload: ENTITIES entities × 38 variables, one message per variable reading ({variable, timestamp, value}),
 * model window 200 (trained on synthetic correlated data). Throughput = a pre-loaded backlog drained by one
 * instance (readings/s). Latency = readings produced at a paced rate below capacity; per frame, from the produce
 * of its last reading to the receipt of its score on the scores topic (p50/p99).
 * Env: KAFKA_BROKERS, REDIS_URL (defaults: the local infra), BENCH_READINGS (default 760000), BENCH_ENTITIES (10),
 * BENCH_INCIDENT=1 (every entity in trouble throughout: x01 off its level, x02 against its course, so every frame
 * is anomalous and is interpreted and published as an event — the load while an incident lasts).
 */
import { randomBytes } from 'node:crypto'
import type { Kafka } from 'kafkajs'
import { logLevel, type Consumer, type Producer } from 'kafkajs'
import { createKafka } from '../src/kafka/client.js'
import { Redis } from 'ioredis'
import type { AlignedSeries } from '../src/domain/types.js'
import { fitModel } from '../src/model/index.js'
import { keySpace } from '../src/state/keys.js'
import { benchStreamService, percentile, waitUntil } from './bench-support.js'
import { RedisBindingStore } from '../src/state/redis-binding-store.js'
import { RedisModelStore } from '../src/state/redis-model-store.js'
import { seededRandom } from '../src/model/random.js'

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',')
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:16379'
const VARIABLES = Array.from({ length: 38 }, (_, j) => `x${String(j + 1).padStart(2, '0')}`)
const WINDOW = 200
const ENTITIES = Number(process.env.BENCH_ENTITIES ?? 10)
const READINGS = Number(process.env.BENCH_READINGS ?? 760_000)
const TIMESTAMPS = Math.ceil(READINGS / (ENTITIES * VARIABLES.length))
const T0 = Date.UTC(2024, 0, 1)
const MINUTE = 60_000
const PARTITIONS = 2
const INCIDENT = process.env.BENCH_INCIDENT === '1'

function syntheticValue(random: () => number, entity: number, t: number, j: number): number {
  return Math.sin(t / 50 + j / 5 + entity) + 0.3 * Math.sin(t / 7 + j) + 0.1 * random()
}

function trainingSeries(): AlignedSeries {
  const random = seededRandom(7)
  const rows = Array.from({ length: 3000 }, (_, t) =>
    Float64Array.from(VARIABLES, (_, j) => syntheticValue(random, 0, t, j)),
  )
  return {
    variables: VARIABLES,
    timestamps: rows.map((_, t) => T0 - (3000 - t) * MINUTE),
    rows,
    variableStates: VARIABLES.map((variable) => ({
      variable,
      filledNARatio: 0,
      effectiveCount: rows.length,
      firstTimestamp: T0 - 3000 * MINUTE,
      lastTimestamp: T0 - MINUTE,
    })),
  }
}

/** A reading as the bench sends it: the training process, or during an incident two variables gone wrong. */
function sentValue(random: () => number, entity: number, t: number, j: number): number {
  const value = syntheticValue(random, entity, t, j)
  if (!INCIDENT) return value
  return j === 0 ? value + 4 : j === 1 ? -value : value
}

function readingMessages(fromT: number, toT: number, random: () => number): { key: string; value: string }[] {
  const messages: { key: string; value: string }[] = []
  for (let t = fromT; t < toT; t++) {
    for (let e = 0; e < ENTITIES; e++) {
      for (let j = 0; j < VARIABLES.length; j++) {
        messages.push({
          key: `entity-${e}`,
          value: JSON.stringify({
            variable: VARIABLES[j],
            timestamp: T0 + t * MINUTE,
            value: sentValue(random, e, t, j),
          }),
        })
      }
    }
  }
  return messages
}

async function produceAll(
  producer: Producer,
  topic: string,
  messages: { key: string; value: string }[],
): Promise<void> {
  for (let i = 0; i < messages.length; i += 5_000) {
    await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 5_000) })
  }
}

async function bareLoop(
  kafka: Kafka,
  admin: ReturnType<Kafka['admin']>,
  prefix: string,
  messages: { key: string; value: string }[],
): Promise<number> {
  const input = `${prefix}.bare.in`
  const output = `${prefix}.bare.out`
  await admin.createTopics({
    topics: [input, output].map((topic) => ({ topic, numPartitions: PARTITIONS })),
    waitForLeaders: true,
  })
  const producer = kafka.producer()
  await producer.connect()
  await produceAll(producer, input, messages)
  let done = 0
  let started = 0
  const consumer: Consumer = kafka.consumer({ groupId: `${prefix}.bare` })
  await consumer.connect()
  await consumer.subscribe({ topic: input, fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachBatch: async (payload) => {
      const { batch } = payload
      if (started === 0) started = performance.now()
      // The ceiling: the service's Kafka I/O without its work — no decoding, no Redis, no scoring; one output
      // message per 38 readings (what the service emits per frame), acks from all replicas, then commit.
      const out = batch.messages
        .filter((_, i) => i % VARIABLES.length === VARIABLES.length - 1)
        .map((m) => ({ key: m.key, value: m.value }))
      if (out.length > 0) await producer.send({ topic: output, acks: -1, messages: out })
      await consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) },
      ])
      done += batch.messages.length
      await payload.heartbeat()
    },
  })
  await waitUntil(() => done >= messages.length, 600_000, 'bare loop')
  const seconds = (performance.now() - started) / 1000
  await consumer.disconnect()
  await producer.disconnect()
  return messages.length / seconds
}

async function main(): Promise<void> {
  const prefix = `bench-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`
  const kafka = createKafka({ clientId: prefix, brokers: BROKERS, logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  const redis = new Redis(REDIS_URL)
  const keys = keySpace(prefix)
  const random = seededRandom(11)
  const backlog = readingMessages(0, TIMESTAMPS, random)
  console.log(
    `workload: ${ENTITIES} entities × ${VARIABLES.length} variables × ${TIMESTAMPS} timestamps = ${backlog.length} readings; window ${WINDOW}; ${PARTITIONS} partitions${INCIDENT ? '; incident: every frame anomalous' : ''}`,
  )

  const bareRate = await bareLoop(kafka, admin, prefix, backlog)
  console.log(`bare kafkajs consume→produce loop: ${Math.round(bareRate).toLocaleString('en')} readings/s`)

  // Service: train, register, bind.
  const trainStart = performance.now()
  const { state } = fitModel(trainingSeries(), { slidingWindow: WINDOW })
  console.log(`model trained in ${((performance.now() - trainStart) / 1000).toFixed(1)} s`)
  const models = new RedisModelStore(redis, keys)
  const bindings = new RedisBindingStore(redis, keys)
  await models.registerReady('bench', JSON.stringify(state), { variables: VARIABLES, slidingWindow: WINDOW })
  for (let e = 0; e < ENTITIES; e++) await bindings.set(`entity-${e}`, { modelId: 'bench' })
  const topics = {
    readings: `${prefix}.readings`,
    events: `${prefix}.events`,
    scores: `${prefix}.scores`,
    deadLetter: `${prefix}.dlq`,
  }
  await admin.createTopics({
    topics: Object.values(topics).map((topic) => ({ topic, numPartitions: PARTITIONS })),
    waitForLeaders: true,
  })
  const producer = kafka.producer()
  await producer.connect()
  await produceAll(producer, topics.readings, backlog)

  let scored = 0
  let anomalous = 0
  const receivedAt = new Map<string, number>()
  const scoreConsumer = kafka.consumer({ groupId: `${prefix}.scores` })
  await scoreConsumer.connect()
  await scoreConsumer.subscribe({ topic: topics.scores, fromBeginning: true })
  await scoreConsumer.run({
    eachMessage: ({ message }) => {
      scored++
      const event = JSON.parse(message.value?.toString() ?? '{}') as {
        entity: string
        timestamp: string
        isAnomaly?: boolean
      }
      if (event.isAnomaly === true) anomalous++
      receivedAt.set(`${event.entity}@${Date.parse(event.timestamp)}`, Date.now())
      return Promise.resolve()
    },
  })
  const service = benchStreamService({ kafka, redis, keys, bindings, models, prefix, topics, partitions: PARTITIONS })
  await service.start()
  // Like the bare loop, time from the moment the consumer is in its group (no join time in either figure).
  await waitUntil(() => service.isConsuming, 60_000, 'service group join')
  const serviceStart = performance.now()
  const frames = ENTITIES * TIMESTAMPS
  await waitUntil(() => scored >= frames, 900_000, 'service backlog')
  const serviceSeconds = (performance.now() - serviceStart) / 1000
  const serviceRate = backlog.length / serviceSeconds
  console.log(
    `mvad-stream service (backlog drain): ${Math.round(serviceRate).toLocaleString('en')} readings/s (${frames} frames in ${serviceSeconds.toFixed(1)} s, ${anomalous} anomalous)`,
  )
  console.log(`ratio service / bare loop: ${(serviceRate / bareRate).toFixed(2)}`)

  // Latency: paced production at ~30% of the measured service rate, one timestamp (all entities) at a time.
  const paced = Math.max(1, Math.floor(TIMESTAMPS / 4))
  const pacedRandom = seededRandom(13)
  const producedAt = new Map<string, number>()
  const interval = ((ENTITIES * VARIABLES.length) / (serviceRate * 0.3)) * 1000
  for (let t = TIMESTAMPS; t < TIMESTAMPS + paced; t++) {
    const messages = readingMessages(t, t + 1, pacedRandom)
    await producer.send({ topic: topics.readings, acks: -1, messages })
    const now = Date.now()
    for (let e = 0; e < ENTITIES; e++) producedAt.set(`entity-${e}@${T0 + t * MINUTE}`, now)
    await new Promise((resolve) => setTimeout(resolve, interval))
  }
  await waitUntil(() => scored >= frames + paced * ENTITIES, 300_000, 'paced frames')
  const latencies = [...producedAt]
    .map(([key, sent]) => (receivedAt.get(key) ?? Number.NaN) - sent)
    .sort((a, b) => a - b)
  console.log(
    `end-to-end latency at ${Math.round((ENTITIES * VARIABLES.length * 1000) / interval).toLocaleString('en')} readings/s: p50 ${percentile(latencies, 0.5)} ms, p99 ${percentile(latencies, 0.99)} ms (${latencies.length} frames)`,
  )

  await service.stop()
  await scoreConsumer.disconnect()
  await producer.disconnect()
  const created = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix))
  await admin.deleteTopics({ topics: created })
  await admin.disconnect()
  const stale = await redis.keys(`${prefix}*`)
  if (stale.length > 0) await redis.del(...stale)
  await redis.quit()
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
