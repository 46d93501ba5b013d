/** Helpers for stream integration tests: unique topics, a running StreamService, and a collector of output. */
import type { Kafka } from 'kafkajs'
import { logLevel, type Consumer, type IHeaders } from 'kafkajs'
import { createKafka } from '../../src/kafka/client.js'
import { Redis } from 'ioredis'
import { inject } from 'vitest'
import { createLogger } from '../../src/observability/logger.js'
import { keySpace } from '../../src/state/keys.js'
import { RedisBindingStore } from '../../src/state/redis-binding-store.js'
import { RedisModelStore } from '../../src/state/redis-model-store.js'
import { RedisWindowStore } from '../../src/state/redis-window-store.js'
import { ModelResolver, type ModelLoader } from '../../src/stream/model-runtime.js'
import { RegistryCodec } from '../../src/stream/registry-codec.js'
import { StreamService, type StreamServiceOptions } from '../../src/stream/stream-service.js'
import type { StreamMetrics } from '../../src/observability/stream-metrics.js'
import { uniquePrefix } from './names.js'
import { createTopicsAndWait } from '../../src/kafka/topics.js'

export interface Collected {
  key: string
  value: Buffer
  headers: IHeaders
  partition: number
  offset: string
}

export interface Harness {
  prefix: string
  kafka: Kafka
  redis: Redis
  topics: StreamServiceOptions['topics']
  bindings: RedisBindingStore
  models: RedisModelStore
  startService(
    overrides?: Partial<StreamServiceOptions> & { loader?: ModelLoader; registry?: boolean; metrics?: StreamMetrics },
  ): Promise<StreamService>
  collect(
    topic: string,
  ): Promise<{ messages: Collected[]; waitFor(count: number, timeoutMs?: number): Promise<Collected[]> }>
  produce(messages: { key: string | null; value: Buffer | string }[]): Promise<void>
  close(): Promise<void>
}

export async function createHarness(label: string, loader: ModelLoader, partitions = 3): Promise<Harness> {
  const prefix = uniquePrefix(label)
  const kafka = createKafka({
    clientId: prefix,
    brokers: inject('kafkaBrokers').split(','),
    logLevel: logLevel.NOTHING,
  })
  const redis = new Redis(inject('redisUrl'))
  const keys = keySpace(prefix)
  const bindings = new RedisBindingStore(redis, keys)
  const models = new RedisModelStore(redis, keys)
  const topics = {
    readings: `${prefix}.readings`,
    events: `${prefix}.events`,
    scores: `${prefix}.scores`,
    deadLetter: `${prefix}.dlq`,
  }
  const admin = kafka.admin()
  await admin.connect()
  await createTopicsAndWait(
    admin,
    Object.values(topics).map((topic) => ({ topic, numPartitions: partitions })),
  )
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  const services: StreamService[] = []
  const consumers: Consumer[] = []

  return {
    prefix,
    kafka,
    redis,
    topics,
    bindings,
    models,
    async startService(overrides = {}) {
      const { loader: customLoader, registry, metrics, ...options } = overrides
      const service = new StreamService({
        kafka,
        windows: new RedisWindowStore(redis, keys, { idleTtlSeconds: 3600 }),
        bindings,
        models: new ModelResolver(bindings, models, customLoader ?? loader),
        ...(registry === true
          ? { registry: new RegistryCodec({ url: inject('schemaRegistryUrl'), auth: undefined }) }
          : {}),
        ...(metrics === undefined ? {} : { metrics }),
        logger: createLogger({ serviceName: prefix, level: 'silent' }),
        options: {
          groupId: `${prefix}.group`,
          topics,
          allowedLatenessMs: 0,
          topContributorCount: 10,
          publishScores: true,
          newTopics: { numPartitions: partitions, replicationFactor: undefined },
          ...options,
        },
      })
      services.push(service)
      await service.start()
      const deadline = Date.now() + 30_000
      while (!service.isConsuming) {
        if (Date.now() > deadline) throw new Error('stream service did not join its group in 30 s')
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      return service
    },
    async collect(topic) {
      const consumer = kafka.consumer({ groupId: `${prefix}.collect.${topic}.${consumers.length}` })
      consumers.push(consumer)
      const messages: Collected[] = []
      await consumer.connect()
      await consumer.subscribe({ topic, fromBeginning: true })
      await consumer.run({
        eachMessage: ({ message, partition }) => {
          messages.push({
            key: message.key?.toString() ?? '',
            value: message.value ?? Buffer.alloc(0),
            headers: message.headers ?? {},
            partition,
            offset: message.offset,
          })
          return Promise.resolve()
        },
      })
      return {
        messages,
        async waitFor(count, timeoutMs = 60_000) {
          const deadline = Date.now() + timeoutMs
          while (messages.length < count) {
            if (Date.now() > deadline) throw new Error(`only ${messages.length}/${count} messages on ${topic}`)
            await new Promise((resolve) => setTimeout(resolve, 100))
          }
          return messages
        },
      }
    },
    async produce(messages) {
      await producer.send({ topic: topics.readings, acks: -1, messages })
    },
    async close() {
      for (const service of services) await service.stop().catch(() => undefined)
      for (const consumer of consumers) await consumer.disconnect().catch(() => undefined)
      await producer.disconnect()
      await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined)
      await admin.disconnect()
      const stale = await redis.keys(`${prefix}*`)
      if (stale.length > 0) await redis.del(...stale)
      await redis.quit()
    },
  }
}
