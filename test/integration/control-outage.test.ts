/**
 * No control command is lost to an outage: while the schema registry (for a registry-encoded command) or Redis (where
 * the job is recorded) is away, the command is neither dead-lettered nor committed; it runs once they are back. The
 * service reaches both through a TCP proxy the test takes away and brings back; the servers themselves stay up.
 */
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type App } from '../../src/app.js'
import { CONTROL_COMMAND_SCHEMA_FILE } from '../../src/control/commands.js'
import { readSchemaText } from '../../src/schema-files.js'
import { testApp } from '../support/test-app.js'
import { ControlClient, TopicCollector } from '../support/control-harness.js'
import { topicNames, uniquePrefix } from '../support/names.js'
import { TcpProxy } from '../support/tcp-proxy.js'

const prefix = uniquePrefix('ctl-outage')
const topics = topicNames(prefix)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('control commands across an outage of the registry or Redis', () => {
  const redisUrl = new URL(inject('redisUrl'))
  const registryUrl = new URL(inject('schemaRegistryUrl'))
  const redisProxy = new TcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379))
  const registryProxy = new TcpProxy(registryUrl.hostname, Number(registryUrl.port || 80))
  const redis = new Redis(inject('redisUrl')) // direct: the test's view while the service's is cut
  const client = new ControlClient(inject('kafkaBrokers').split(','), redis, prefix, topics.control)
  const dlq = new TopicCollector()
  let app: App

  beforeAll(async () => {
    await redisProxy.start()
    await registryProxy.start()
    const proxiedRedis = new URL(redisUrl)
    proxiedRedis.port = String(redisProxy.port)
    const proxiedRegistry = new URL(registryUrl)
    proxiedRegistry.port = String(registryProxy.port)
    app = testApp(prefix, {
      REDIS_URL: proxiedRedis.toString(),
      SCHEMA_REGISTRY_URL: proxiedRegistry.toString().replace(/\/$/, ''),
    })
    await app.start()
    await dlq.start(client.kafka, topics.dlq, `${prefix}.c-dlq`)
  }, 120_000)

  afterAll(async () => {
    await dlq.stop()
    await app?.stop('test done')
    await redisProxy.stop()
    await registryProxy.stop()
    const stale = await redis.keys(`${prefix}*`)
    if (stale.length > 0) await redis.del(...stale)
    await redis.quit()
  })

  /** A command that runs in a moment: deleting a model that does not exist fails it with ModelNotExist. */
  const deleteMissing = (jobId: string) => ({ type: 'delete-model', jobId, modelId: `${prefix}-none` })

  /** Neither recorded (run) nor dead-lettered: it waits in Kafka. */
  async function expectNotRunYet(jobId: string): Promise<void> {
    expect(await client.jobs.get(jobId)).toBeUndefined()
    expect(dlq.messages.filter((m) => m.value.includes(jobId))).toEqual([])
  }

  it('a registry-encoded command waits out a registry outage and then runs', async () => {
    // A schema the service has never seen (a second control-command schema): decoding it needs the registry.
    const registry = new SchemaRegistry({ host: inject('schemaRegistryUrl') }, { [SchemaType.JSON]: { strict: false } })
    const schema = JSON.parse(readSchemaText(CONTROL_COMMAND_SCHEMA_FILE)) as Record<string, unknown>
    const { id } = await registry.register(
      { type: SchemaType.JSON, schema: JSON.stringify({ ...schema, $comment: `${prefix} copy` }) },
      { subject: `${prefix}.copy-value` },
    )
    const jobId = `${prefix}-reg`
    const encoded = await registry.encode(id, deleteMissing(jobId))
    await registryProxy.stop()
    const producer = client.kafka.producer()
    await producer.connect()
    await producer.send({ topic: topics.control, acks: -1, messages: [{ key: jobId, value: encoded }] })
    await producer.disconnect()
    await sleep(4_000) // the service tries it, finds the registry away, and tries again
    await expectNotRunYet(jobId)
    await registryProxy.start()
    const job = await client.finished(jobId, 60_000)
    expect(job).toMatchObject({ status: 'FAILED', errors: [{ code: 'ModelNotExist' }] })
    expect(dlq.messages.filter((m) => m.value.includes(jobId))).toEqual([])
  }, 90_000)

  it('a command waits out a Redis outage (its job cannot be recorded) and then runs once', async () => {
    const jobId = `${prefix}-redis`
    await redisProxy.stop()
    await client.send(deleteMissing(jobId))
    await sleep(4_000)
    await expectNotRunYet(jobId)
    await redisProxy.start()
    const job = await client.finished(jobId, 60_000)
    expect(job).toMatchObject({ status: 'FAILED', errors: [{ code: 'ModelNotExist' }] })
    // Once: a later command goes through, and the first one was not run a second time on the way.
    const after = `${prefix}-after`
    await client.send(deleteMissing(after))
    await client.finished(after, 30_000)
    expect(await client.jobs.get(jobId)).toMatchObject({
      createdTime: job.createdTime,
      lastUpdatedTime: job.lastUpdatedTime,
    })
    expect(dlq.messages).toEqual([])
  }, 120_000)
})
