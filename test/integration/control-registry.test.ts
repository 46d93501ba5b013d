/**
 * Registry-encoded control commands: with a schema registry configured, the service registers the control-command
 * JSON Schema under `<control topic>-value`; commands encoded with it (Confluent wire format) run like JSON ones,
 * and a registry-framed payload that breaks the schema is dead-lettered with a reason.
 */
import { join } from 'node:path'
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type App } from '../../src/app.js'
import { testApp } from '../support/test-app.js'
import { ControlClient, TopicCollector } from '../support/control-harness.js'
import { uniquePrefix } from '../support/names.js'

const ROOT = new URL('../../', import.meta.url).pathname
const OMI = join(ROOT, '../shared/data/bench/asd/omi-1')
const prefix = uniquePrefix('ctlreg')
const controlTopic = `${prefix}.control`
const dlqTopic = `${prefix}.dlq`

describe('control topic with a schema registry (registry-encoded commands)', () => {
  const redis = new Redis(inject('redisUrl'))
  const client = new ControlClient(inject('kafkaBrokers').split(','), redis, prefix, controlTopic)
  // As a producer would: the schema uses "format" (date-time), which the library's Ajv must not reject as unknown;
  // the service validates formats itself.
  const registry = new SchemaRegistry({ host: inject('schemaRegistryUrl') }, { [SchemaType.JSON]: { strict: false } })
  const dlq = new TopicCollector()
  let app: App

  beforeAll(async () => {
    // its control and DLQ topics are controlTopic and dlqTopic above
    app = testApp(prefix, { SCHEMA_REGISTRY_URL: inject('schemaRegistryUrl') })
    await app.start()
    await dlq.start(client.kafka, dlqTopic, `${prefix}.c-dlq`)
  }, 120_000)

  afterAll(async () => {
    await dlq.stop()
    await app?.stop('test done')
    const stale = await redis.keys(`${prefix}*`)
    if (stale.length > 0) await redis.del(...stale)
    await redis.quit()
  })

  async function sendRaw(key: string, value: Buffer): Promise<void> {
    const producer = client.kafka.producer()
    await producer.connect()
    await producer.send({ topic: controlTopic, acks: -1, messages: [{ key, value }] })
    await producer.disconnect()
  }

  it('runs a command encoded with the registered schema, and dead-letters a framed one that breaks it', async () => {
    const schemaId = await registry.getLatestSchemaId(`${controlTopic}-value`)
    const command = {
      type: 'train',
      jobId: 'reg-train',
      modelId: 'omi-reg',
      source: { kind: 'file', path: join(OMI, 'train.csv') },
      slidingWindow: 60,
    }
    await sendRaw('reg-train', await registry.encode(schemaId, command))
    expect(await client.finished('reg-train')).toMatchObject({
      status: 'READY',
      result: { modelId: 'omi-reg', version: 1 },
    })

    // Confluent framing (magic byte, schema id) around a command the schema refuses.
    const header = Buffer.alloc(5)
    header.writeUInt8(0, 0)
    header.writeInt32BE(schemaId, 1)
    const bad = Buffer.concat([header, Buffer.from(JSON.stringify({ type: 'train', jobId: 'reg-bad' }))])
    await sendRaw('reg-bad', bad)
    const deadline = Date.now() + 30_000
    while (dlq.messages.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    expect(dlq.messages[0]?.headers['mvad-dlq-reason']?.toString()).toBe('invalid_command')
    expect(dlq.messages[0]?.headers['mvad-job-id']?.toString()).toBe('reg-bad') // read inside the frame
    expect(dlq.messages[0]?.headers['mvad-dlq-detail']?.toString()).toMatch(/modelId|source|registry/)
    expect(await client.jobs.get('reg-bad')).toBeUndefined()
  }, 90_000)
})
