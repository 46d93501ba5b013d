import { Capture } from '../support/cli-run.js'
import { logLevel, type Message } from 'kafkajs'
import { describe, expect, inject, it } from 'vitest'
import { submitCommand, watchCommand } from '../../src/cli/commands/jobs.js'
import { deadLettersCommand, eventsCommand, simulateCommand } from '../../src/cli/commands/stream-tools.js'
import { createKafka } from '../../src/kafka/client.js'
import type { AnomalyEvent } from '../../src/stream/anomaly-event.js'
import { RegistryCodec } from '../../src/stream/registry-codec.js'
import { uniquePrefix } from '../support/names.js'
import { createTopicsAndWait } from '../../src/kafka/topics.js'

/** "<code>: <message>" of the error `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => new Error('resolved'),
    (e: unknown) => e,
  )
  return `${String((error as { code?: unknown }).code)}: ${String((error as Error).message)}`
}

/** A one-partition topic `<unique prefix>.<suffix>` on the test broker, and a client for it. */
async function freshTopic(name: string, suffix: string) {
  const prefix = uniquePrefix(name)
  const topic = `${prefix}.${suffix}`
  const brokers = inject('kafkaBrokers')
  const kafka = createKafka({ clientId: 'mvad-it', brokers: brokers.split(','), logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  await createTopicsAndWait(admin, [{ topic, numPartitions: 1 }])
  await admin.disconnect()
  const produce = async (messages: Message[]): Promise<void> => {
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic, acks: -1, messages })
    await producer.disconnect()
  }
  return { prefix, topic, brokers, produce }
}

describe('mvad events (real Kafka and Schema Registry)', () => {
  it('prints Avro events (the service with a registry) and JSON events alike', async () => {
    const { topic, brokers, produce } = await freshTopic('events-cli', 'events')
    const registryUrl = inject('schemaRegistryUrl')
    const codec = new RegistryCodec({ url: registryUrl, auth: undefined })
    await codec.registerEventSchema([topic])
    const event = (entity: string): AnomalyEvent => ({
      eventId: '00000000-0000-8000-8000-000000000000',
      entity,
      modelId: 'pump-model',
      modelVersion: 3,
      timestamp: '2024-01-07T12:41:00Z',
      isAnomaly: true,
      score: 1.5,
      severity: 0.25,
      interpretation: [{ variable: 'x05', contributionScore: 0.6, correlationChanges: { changedVariables: [] } }],
    })
    await produce([
      { key: 'pump-1', value: await codec.encodeEvent(event('pump-1')) },
      { key: 'pump-2', value: JSON.stringify(event('pump-2')) },
      { key: 'pump-3', value: '{not json' }, // fetched in the same batch: --max 2 must not print it
    ])
    const stdout = new Capture()
    const env = { KAFKA_BROKERS: brokers, SCHEMA_REGISTRY_URL: registryUrl, MVAD_TOPIC_EVENTS: topic }
    await eventsCommand({ fromBeginning: true, max: 2, idle: 30 }, { stdout, stderr: new Capture(), env }, env)
    const line = 'severity 0.25  score 1.500  model pump-model@v3  top: x05 60%'
    expect(stdout.text).toBe(
      `2024-01-07T12:41:00Z  pump-1  ${line}\n2024-01-07T12:41:00Z  pump-2  ${line}\n2 anomaly events\n`,
    )
  }, 60_000)

  it('mvad dead-letters prints what was refused, why, and where the original is, as JSON lines', async () => {
    const { prefix, topic, brokers, produce } = await freshTopic('dlq-cli', 'dlq')
    const headers = (reason: string, offset: string) => ({
      'mvad-dlq-reason': reason,
      'mvad-dlq-detail': `detail of ${reason}`,
      'mvad-source-topic': `${prefix}.readings`,
      'mvad-source-partition': '2',
      'mvad-source-offset': offset,
    })
    await produce([
      {
        key: 'pump-9',
        value: '{"variable":"x","timestamp":"2024-01-01T00:00:00Z","value":1}',
        headers: headers('unknown_entity', '17'),
      },
      { key: null, value: Buffer.from([0xff, 0x00, 0xfe]), headers: headers('malformed_json', '18') },
      { key: 'pump-9', value: 'not printed: --max 2', headers: headers('wrong_shape', '19') },
    ])
    const stdout = new Capture()
    const stderr = new Capture()
    const env = { KAFKA_BROKERS: brokers, MVAD_TOPIC_DLQ: topic }
    await deadLettersCommand({ fromBeginning: true, max: 2, idle: 30 }, { stdout, stderr, env }, env)
    const lines = stdout.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines).toMatchObject([
      {
        reason: 'unknown_entity',
        detail: 'detail of unknown_entity',
        source: { topic: `${prefix}.readings`, partition: 2, offset: '17' },
        key: 'pump-9',
        value: '{"variable":"x","timestamp":"2024-01-01T00:00:00Z","value":1}',
        at: { partition: 0, offset: '0' },
      },
      { reason: 'malformed_json', key: null, value: '/wD+', valueEncoding: 'base64', source: { offset: '18' } },
    ])
    expect(stderr.text).toBe('2 dead letters\n')
  }, 60_000)

  it('answers a missing topic with an error naming it and its variable, and does not wait for it', async () => {
    const prefix = uniquePrefix('events-cli-missing')
    const brokers = inject('kafkaBrokers')
    const env = {
      KAFKA_BROKERS: brokers,
      MVAD_TOPIC_EVENTS: `${prefix}.events`,
      MVAD_TOPIC_READINGS: `${prefix}.readings`,
      MVAD_TOPIC_CONTROL: `${prefix}.control`,
    }
    const ctx = { stdout: new Capture(), stderr: new Capture(), env }
    const started = Date.now()
    expect(await failure(eventsCommand({ idle: 1 }, ctx, env))).toContain(
      `KafkaError: topic ${prefix}.events (MVAD_TOPIC_EVENTS) does not exist`,
    )
    const input = new URL('../fixtures/data/onetable.csv', import.meta.url).pathname
    expect(await failure(simulateCommand({ input, entity: 'pump-1' }, ctx, env))).toContain(
      `KafkaError: topic ${prefix}.readings (MVAD_TOPIC_READINGS) does not exist`,
    )
    const command = JSON.stringify({ type: 'cancel', jobId: 'c-1', targetJobId: 'x' })
    expect(await failure(submitCommand({ json: command }, ctx, env))).toContain(
      `KafkaError: topic ${prefix}.control (MVAD_TOPIC_CONTROL) does not exist`,
    )
    expect(Date.now() - started).toBeLessThan(15_000)
  }, 30_000)

  it('says a job that never appeared was not found, not that infrastructure is down', async () => {
    const env = { REDIS_URL: inject('redisUrl'), MVAD_REDIS_KEY_PREFIX: uniquePrefix('watch-missing') }
    const ctx = { stdout: new Capture(), stderr: new Capture(), env }
    expect(await failure(watchCommand({ jobId: 'nosuch', timeout: 1 }, ctx, env))).toContain(
      'JobNotFound: job nosuch did not appear in 1 s',
    )
  })
})
