import { Redis } from 'ioredis'
import { logLevel } from 'kafkajs'
import { describe, expect, inject, it } from 'vitest'
import { createApp } from '../../src/app.js'
import { cliKafka, requireTopic } from '../../src/cli/kafka-access.js'
import { loadConfig } from '../../src/config/config.js'
import { clientOptions } from '../../src/connections.js'
import { createKafka } from '../../src/kafka/client.js'
import { createLogger } from '../../src/observability/logger.js'
import { createMetrics } from '../../src/observability/metrics.js'
import { startBasicAuthGateway } from '../support/basic-auth-gateway.js'
import { isolatedEnv, topicNames, uniquePrefix } from '../support/names.js'
import { pollUntil } from '../support/poll.js'
import { secureSettings } from '../support/secure-env.js'
import { windowMeanModel } from '../support/window-mean-model.js'

const REGISTRY_USER = 'registry-user'
const REGISTRY_PASSWORD = 'registry-secret'

function makeApp(env: Record<string, string>): ReturnType<typeof createApp> {
  return createApp({
    config: loadConfig(env),
    logger: createLogger({ serviceName: 'it', level: 'silent' }),
    metrics: createMetrics({ serviceName: 'it', version: 'test', collectDefaults: false }),
    loadModel: windowMeanModel,
  })
}

describe('secured Kafka (SASL_SSL), Redis over TLS and a registry that wants credentials', () => {
  it('the service starts on them, reports every dependency up, and moves readings through the secured cluster', async () => {
    const secure = secureSettings(inject('secureEnv'))
    const gateway = await startBasicAuthGateway(inject('schemaRegistryUrl'), REGISTRY_USER, REGISTRY_PASSWORD)
    const prefix = uniquePrefix('secure')
    const env = {
      ...isolatedEnv(prefix),
      ...secure,
      MVAD_TOPIC_PARTITIONS: '1',
      SCHEMA_REGISTRY_URL: gateway.url,
      SCHEMA_REGISTRY_USERNAME: REGISTRY_USER,
      SCHEMA_REGISTRY_PASSWORD: REGISTRY_PASSWORD,
      MVAD_HTTP_HOST: '127.0.0.1',
      MVAD_HTTP_PORT: '0',
    }
    const app = makeApp(env)
    const clients = clientOptions(loadConfig(env))
    const kafka = createKafka({ clientId: prefix, ...clients.kafka, logLevel: logLevel.NOTHING })
    const redis = new Redis(clients.redis.url, clients.redis.options)
    const deadLetters: string[] = []
    const dlqConsumer = kafka.consumer({ groupId: `${prefix}.dlq-reader` })
    const producer = kafka.producer()
    await app.start()
    try {
      const ready = await fetch(`${app.url()}/readyz`)
      const body = (await ready.json()) as { dependencies: { name: string; up: boolean; detail?: string }[] }
      expect(ready.status, JSON.stringify(body)).toBe(200)
      expect(body.dependencies.filter((d) => !d.up)).toEqual([])
      // Start-up registered the event schemas through the gateway, always with the credentials.
      expect(gateway.passed()).toBeGreaterThan(0)
      expect(gateway.refused()).toBe(0)
      // The service's Redis state went over TLS.
      expect(await redis.get(`${prefix}:store:marker`)).not.toBeNull()

      // A reading for an entity with no model is dead-lettered: consumed and produced again over SASL_SSL.
      await dlqConsumer.connect()
      await dlqConsumer.subscribe({ topic: topicNames(prefix).dlq, fromBeginning: true })
      await dlqConsumer.run({
        eachMessage: ({ message }) => {
          deadLetters.push(message.key?.toString() ?? '')
          return Promise.resolve()
        },
      })
      await producer.connect()
      await producer.send({
        topic: topicNames(prefix).readings,
        acks: -1,
        messages: [{ key: 'ghost', value: JSON.stringify({ timestamp: Date.now(), values: { a: 1 } }) }],
      })
      await pollUntil('the dead letter', () => deadLetters.includes('ghost'), { intervalMs: 250 })
    } finally {
      await producer.disconnect()
      await dlqConsumer.disconnect()
      await app.stop('test done')
      redis.disconnect()
      await gateway.close()
    }
  }, 60_000)

  it('the CLI reaches the secured cluster with PLAIN (as Event Hubs and Confluent Cloud take it) and SCRAM', async () => {
    const secure = secureSettings(inject('secureEnv'))
    const prefix = uniquePrefix('secure-cli')
    const topic = `${prefix}.readings`
    const plain = cliKafka({ ...secure, KAFKA_SASL_MECHANISM: 'PLAIN', MVAD_TOPIC_READINGS: topic }, 'mvad-it')
    await expect(requireTopic(plain, topic, 'MVAD_TOPIC_READINGS')).rejects.toThrow(
      `topic ${topic} (MVAD_TOPIC_READINGS) does not exist`,
    )
    const admin = plain.kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    await admin.disconnect()
    await requireTopic(plain, topic, 'MVAD_TOPIC_READINGS')
    const scram = cliKafka({ ...secure, KAFKA_SASL_MECHANISM: 'scram-sha-512' }, 'mvad-it')
    await requireTopic(scram, topic, 'MVAD_TOPIC_READINGS')
    const wrong = cliKafka({ ...secure, KAFKA_SASL_PASSWORD: 'not-the-password' }, 'mvad-it')
    await expect(requireTopic(wrong, topic, 'MVAD_TOPIC_READINGS')).rejects.toThrow(
      `Kafka at ${secure.KAFKA_BROKERS} refused the request`,
    )
  }, 30_000)

  it('fails start-up naming each dependency that refused it: a wrong password, an untrusted certificate, no credentials', async () => {
    const secure = secureSettings(inject('secureEnv'))
    const gateway = await startBasicAuthGateway(inject('schemaRegistryUrl'), REGISTRY_USER, REGISTRY_PASSWORD)
    const { REDIS_TLS_CA_FILE: _trusted, ...withoutRedisCa } = secure
    const app = makeApp({
      ...isolatedEnv(uniquePrefix('secure-refused')),
      ...withoutRedisCa,
      KAFKA_SASL_PASSWORD: 'not-the-password',
      SCHEMA_REGISTRY_URL: gateway.url,
      MVAD_HTTP_HOST: '127.0.0.1',
      MVAD_HTTP_PORT: '0',
      MVAD_STARTUP_TIMEOUT_MS: '1500',
    })
    try {
      const failure = app.start()
      await expect(failure).rejects.toThrow(/kafka \(.*authentication failed/i)
      await expect(failure).rejects.toThrow(/redis \(.*certificate/i)
      await expect(failure).rejects.toThrow(/schema_registry \(HTTP 401\)/)
      expect(app.lifecycle.state).toBe('failed')
    } finally {
      await app.stop('test done')
      await gateway.close()
    }
  }, 30_000)
})
