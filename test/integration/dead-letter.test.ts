import { describe, expect, inject, it } from 'vitest'
import { logLevel } from 'kafkajs'
import { createKafka } from '../../src/kafka/client.js'
import { boundedDetail, sendFitting } from '../../src/kafka/dead-letter.js'
import { uniquePrefix } from '../support/names.js'
import { createTopicsAndWait } from '../../src/kafka/topics.js'

describe('dead letters on a real broker', () => {
  const kafka = createKafka({
    clientId: 'mvad-it',
    brokers: inject('kafkaBrokers').split(','),
    logLevel: logLevel.NOTHING,
  })

  it('a dead letter the topic refuses as too large is sent again without its value; small ones keep theirs', async () => {
    const prefix = uniquePrefix('dlq')
    const topic = `${prefix}.dlq`
    const admin = kafka.admin()
    await admin.connect()
    const producer = kafka.producer({ allowAutoTopicCreation: false })
    await producer.connect()
    try {
      await createTopicsAndWait(admin, [
        { topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '20000' }] },
      ])
      const letter = (value: string) => ({
        key: 'omi-1',
        value,
        headers: { 'mvad-dlq-reason': 'unknown_variable', 'mvad-dlq-detail': boundedDetail(`variable "${value}"`) },
      })
      const send = (groups: { topic: string; messages: ReturnType<typeof letter>[] }[]) =>
        producer.sendBatch({ topicMessages: groups, acks: -1 })
      // Fits: sent as it is.
      expect(await sendFitting([{ topic, messages: [letter('small')] }], () => true, send)).toEqual({
        valuesDropped: 0,
      })
      // 50 KB, over the topic's 20,000 bytes: the broker refuses it; the retry leaves the value out.
      const big = 'y'.repeat(50_000)
      expect(await sendFitting([{ topic, messages: [letter(big)] }], () => true, send)).toEqual({ valuesDropped: 1 })
      // Not a dead letter: refused, and the refusal is the caller's.
      await expect(sendFitting([{ topic, messages: [letter(big)] }], () => false, send)).rejects.toThrow(/larger/)
      // A flood (2,000 letters, ~400 KB: one request by size, over the topic's 20,000 bytes) is split until it fits;
      // no value is dropped.
      const flood = Array.from({ length: 2_000 }, (_, i) => letter(`reading ${i}`))
      expect(await sendFitting([{ topic, messages: flood }], () => true, send)).toEqual({ valuesDropped: 0 })

      const offsets = await admin.fetchTopicOffsets(topic)
      expect(offsets[0]?.high).toBe('2002')
      const consumer = kafka.consumer({ groupId: `${prefix}.group` })
      await consumer.connect()
      await consumer.subscribe({ topic, fromBeginning: true })
      const seen: { value: string | null; dropped?: string; detail: string }[] = []
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${seen.length}/2002 read`)), 30_000)
        void consumer.run({
          eachMessage: async ({ message }) => {
            seen.push({
              value: message.value === null ? null : message.value.toString(),
              detail: String(message.headers?.['mvad-dlq-detail']),
              ...(message.headers?.['mvad-dlq-value-dropped'] === undefined
                ? {}
                : { dropped: String(message.headers['mvad-dlq-value-dropped']) }),
            })
            if (seen.length === 2002) {
              clearTimeout(timer)
              resolve()
            }
            return Promise.resolve()
          },
        })
      })
      await consumer.disconnect()
      expect(seen[0]).toEqual({ value: 'small', detail: 'variable "small"' })
      expect(seen[1]?.value).toBeNull()
      expect(seen[1]?.dropped).toMatch(/^50000 bytes: too large for the dead-letter topic/)
      expect(seen[1]?.detail).toMatch(/^variable "y{1900,}… \(\d+ more characters\)$/)
      expect(seen.slice(2).map((m) => m.value)).toEqual(flood.map((m) => m.value)) // all there, in order
    } finally {
      await producer.disconnect()
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined)
      await admin.disconnect()
    }
  }, 60_000)
})
