import { describe, expect, inject, it } from 'vitest'
import { logLevel } from 'kafkajs'
import { createKafka } from '../../src/kafka/client.js'
import { KafkaRangeReader } from '../../src/control/kafka-range-reader.js'
import { decodeJsonReading } from '../../src/stream/reading-codec.js'
import { uniquePrefix } from '../support/names.js'
import { createTopicsAndWait } from '../../src/kafka/topics.js'

describe('KafkaRangeReader (real broker)', () => {
  const kafka = createKafka({
    clientId: 'mvad-it',
    brokers: inject('kafkaBrokers').split(','),
    logLevel: logLevel.WARN,
  })

  /** A fresh readings topic for one test (its own prefix), the admin client disconnected afterwards. */
  async function withTopic(label: string, partitions: number, test: (topic: string, prefix: string) => Promise<void>) {
    const prefix = uniquePrefix(label)
    const topic = `${prefix}.readings`
    const admin = kafka.admin()
    await admin.connect()
    try {
      await createTopicsAndWait(admin, [{ topic, numPartitions: partitions }])
      await test(topic, prefix)
    } finally {
      await admin.disconnect()
    }
  }

  it("reads one entity's readings of a range, and refuses a range holding more than its limit", async () => {
    await withTopic('range', 2, async (topic, prefix) => {
      const producer = kafka.producer({ allowAutoTopicCreation: false })
      await producer.connect()
      const T0 = Date.UTC(2024, 0, 1)
      const messages = Array.from({ length: 60 }, (_, i) => ({
        key: i % 3 === 0 ? 'other' : 'dev-1',
        value: JSON.stringify({ timestamp: T0 + i * 60_000, values: { a: i, b: -i } }),
      }))
      await producer.send({ topic, acks: -1, messages })
      await producer.disconnect()
      const reader = (maxReadings?: number): KafkaRangeReader =>
        new KafkaRangeReader(kafka, {
          groupPrefix: `${prefix}.replay`,
          decode: decodeJsonReading,
          ...(maxReadings === undefined ? {} : { maxReadings }),
        })
      const all = await reader().read({ topic, entity: 'dev-1' }, new AbortController().signal)
      expect(all.readings.count).toBe(80) // 40 frames of dev-1, 2 variables each
      expect(all.scanned).toBe(60)
      await expect(reader(50).read({ topic, entity: 'dev-1' }, new AbortController().signal)).rejects.toMatchObject({
        code: 'DataExceedsLimit',
      })
    })
  }, 60_000)

  it('rejects, as the stream does, a reading far ahead of its Kafka timestamp (MVAD_MAX_FUTURE_MS)', async () => {
    await withTopic('range-future', 1, async (topic, prefix) => {
      const producer = kafka.producer({ allowAutoTopicCreation: false })
      await producer.connect()
      const T0 = Date.UTC(2024, 0, 1)
      await producer.send({
        topic,
        acks: -1,
        messages: [
          { key: 'dev-1', value: JSON.stringify({ timestamp: T0, values: { a: 1 } }) },
          { key: 'dev-1', value: JSON.stringify({ timestamp: '2099-12-31T00:00:00Z', values: { a: 2 } }) },
          { key: 'dev-1', value: JSON.stringify({ timestamp: T0 + 60_000, values: { a: 3 } }) },
        ],
      })
      await producer.disconnect()
      const reader = new KafkaRangeReader(kafka, {
        groupPrefix: `${prefix}.replay`,
        decode: decodeJsonReading,
        maxFutureMs: 86_400_000,
      })
      const read = await reader.read({ topic, entity: 'dev-1' }, new AbortController().signal)
      expect(read.readings.count).toBe(2)
      expect(read.rejected).toEqual([
        {
          partition: 0,
          offset: '1',
          reason: 'timestamp_in_future',
          detail: expect.stringContaining('2099-12-31T00:00:00.000Z is more than 86400000 ms ahead') as unknown,
        },
      ])
    })
  }, 60_000)

  it('refuses a range with more unreadable records of the entity than it keeps to report, naming the last', async () => {
    await withTopic('range-rejected', 1, async (topic, prefix) => {
      const producer = kafka.producer({ allowAutoTopicCreation: false })
      await producer.connect()
      const T0 = Date.UTC(2024, 0, 1)
      const good = (i: number) => ({
        key: 'dev-1',
        value: JSON.stringify({ timestamp: T0 + i * 60_000, values: { a: i } }),
      })
      const bad = { key: 'dev-1', value: 'not json' }
      await producer.send({
        topic,
        acks: -1,
        messages: [good(0), bad, bad, good(1), bad, { key: 'other', value: 'x' }],
      })
      await producer.disconnect()
      const reader = (maxRejected: number) =>
        new KafkaRangeReader(kafka, { groupPrefix: `${prefix}.replay`, decode: decodeJsonReading, maxRejected })
      const kept = await reader(3).read({ topic, entity: 'dev-1' }, new AbortController().signal)
      expect(kept.readings.count).toBe(2)
      expect(kept.rejected.map((r) => r.offset)).toEqual(['1', '2', '4']) // another entity's are not its own
      await expect(reader(2).read({ topic, entity: 'dev-1' }, new AbortController().signal)).rejects.toMatchObject({
        code: 'DataExceedsLimit',
        message: expect.stringMatching(
          /more than 2 records .* cannot be read \(the last: malformed_json at partition 0 offset 4/,
        ) as unknown,
      })
    })
  }, 60_000)

  it('finishes a range that holds only an aborted transaction (no message of it reaches the reader)', async () => {
    await withTopic('range-tx', 1, async (topic, prefix) => {
      const T0 = Date.UTC(2024, 0, 1)
      // On a fresh broker the transaction coordinator loads on first use: kafkajs logs its retries as errors.
      const quiet = createKafka({
        clientId: 'mvad-it',
        brokers: inject('kafkaBrokers').split(','),
        logLevel: logLevel.NOTHING,
      })
      const transactional = quiet.producer({
        allowAutoTopicCreation: false,
        transactionalId: `${prefix}.tx`,
        idempotent: true,
        maxInFlightRequests: 1,
      })
      await transactional.connect()
      const transaction = await transactional.transaction()
      await transaction.send({
        topic,
        messages: [0, 1].map((i) => ({
          key: 'dev-1',
          value: JSON.stringify({ timestamp: T0 + i * 60_000, values: { a: i } }),
        })),
      })
      await transaction.abort()
      await transactional.disconnect()
      const reader = new KafkaRangeReader(kafka, {
        groupPrefix: `${prefix}.replay`,
        decode: decodeJsonReading,
        stallTimeoutMs: 30_000,
      })
      // Its only batch is empty once filtered: kafkajs never calls eachBatch for it. A reader that did not see the
      // range end there would wait for more and fail the read with "stalled" after stallTimeoutMs (well inside this
      // test's timeout): the read resolving at all is the proof it was done at the marker.
      const read = await reader.read({ topic, entity: 'dev-1' }, new AbortController().signal)
      expect(read.readings.count).toBe(0) // aborted readings are not data
      expect(read.scanned).toBe(0)
    })
  }, 60_000)
})
