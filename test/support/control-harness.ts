/** Helpers for control-plane integration tests: send commands, follow jobs, collect a topic, read CSV rows. */
import { readFileSync } from 'node:fs'
import type { Kafka } from 'kafkajs'
import { ConfigResourceTypes, logLevel, type Consumer, type IHeaders } from 'kafkajs'
import { createKafka } from '../../src/kafka/client.js'
import type { Redis } from 'ioredis'
import { keySpace } from '../../src/state/keys.js'
import type { JobRecord } from '../../src/state/job-store.js'
import { RedisJobStore } from '../../src/state/redis-job-store.js'
import { createTopicsAndWait } from '../../src/kafka/topics.js'

export interface CsvRows {
  header: string[]
  rows: string[][]
}

export function readCsvRows(path: string, limit = Number.POSITIVE_INFINITY): CsvRows {
  const lines = readFileSync(path, 'utf8').trim().split(/\r?\n/)
  const header = (lines[0] ?? '').split(',')
  return { header, rows: lines.slice(1, 1 + Math.min(limit, lines.length - 1)).map((l) => l.split(',')) }
}

export function csvText({ header, rows }: CsvRows): string {
  return [header.join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n'
}

/** Frame messages (one per row) of `rows` for `entity`. */
export function frameMessages(entity: string, { header, rows }: CsvRows): { key: string; value: string }[] {
  return rows.map((row) => ({
    key: entity,
    value: JSON.stringify({
      timestamp: row[0],
      values: Object.fromEntries(header.slice(1).map((name, j) => [name, Number(row[j + 1])])),
    }),
  }))
}

export class TopicCollector {
  readonly messages: { key: string; value: string; headers: IHeaders }[] = []
  #consumer: Consumer | undefined

  async start(kafka: Kafka, topic: string, groupId: string): Promise<void> {
    const admin = kafka.admin()
    await admin.connect()
    if (!(await admin.listTopics()).includes(topic)) {
      await createTopicsAndWait(admin, [{ topic, numPartitions: 1 }])
    }
    await admin.disconnect()
    this.#consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 })
    await this.#consumer.connect()
    await this.#consumer.subscribe({ topic, fromBeginning: true })
    await this.#consumer.run({
      eachMessage: ({ message }) => {
        this.messages.push({
          key: message.key?.toString() ?? '',
          value: message.value?.toString() ?? '',
          headers: message.headers ?? {},
        })
        return Promise.resolve()
      },
    })
  }

  async stop(): Promise<void> {
    await this.#consumer?.disconnect()
  }
}

export class ControlClient {
  readonly kafka: Kafka
  readonly jobs: RedisJobStore
  readonly #topic: string

  constructor(brokers: string[], redis: Redis, keyPrefix: string, controlTopic: string) {
    this.kafka = createKafka({ clientId: 'control-it', brokers, logLevel: logLevel.NOTHING })
    this.jobs = new RedisJobStore(redis, keySpace(keyPrefix))
    this.#topic = controlTopic
  }

  /** Sends a command; `sentAtMs` sets its Kafka (producer) timestamp, as a command sent long ago has. */
  async send(command: object | string, topic = this.#topic, sentAtMs?: number): Promise<void> {
    const producer = this.kafka.producer()
    await producer.connect()
    const value = typeof command === 'string' ? command : JSON.stringify(command)
    const key = typeof command === 'string' ? 'raw' : String((command as { jobId?: string }).jobId)
    const timestamp = sentAtMs === undefined ? {} : { timestamp: String(sentAtMs) }
    await producer.send({ topic, acks: -1, messages: [{ key, value, ...timestamp }] })
    await producer.disconnect()
  }

  async setTopicConfig(topic: string, name: string, value: string): Promise<void> {
    const admin = this.kafka.admin()
    await admin.connect()
    try {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name, value }] }],
      })
    } finally {
      await admin.disconnect()
    }
  }

  async produce(topic: string, messages: { key: string; value: string }[]): Promise<void> {
    const producer = this.kafka.producer()
    await producer.connect()
    for (let i = 0; i < messages.length; i += 500) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) })
    }
    await producer.disconnect()
  }

  /** Polls the job store until `done(record)` holds. */
  async waitFor(jobId: string, done: (r: JobRecord) => boolean, timeoutMs = 60_000): Promise<JobRecord> {
    const deadline = Date.now() + timeoutMs
    let last: JobRecord | undefined
    while (Date.now() < deadline) {
      last = await this.jobs.get(jobId)
      if (last !== undefined && done(last)) return last
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`job ${jobId} did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last)}`)
  }

  finished(jobId: string, timeoutMs?: number): Promise<JobRecord> {
    return this.waitFor(jobId, (r) => r.status === 'READY' || r.status === 'FAILED', timeoutMs)
  }

  /** Sends a command and waits for its job to finish. */
  async run(command: { jobId: string } & Record<string, unknown>, timeoutMs?: number): Promise<JobRecord> {
    await this.send(command)
    return this.finished(command.jobId, timeoutMs)
  }
}
