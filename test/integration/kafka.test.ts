import { describe, expect, inject, it } from 'vitest'
import { logLevel } from 'kafkajs'
import { createKafka } from '../../src/kafka/client.js'
import { uniquePrefix } from '../support/names.js'
import { createTopicsAndWait } from '../../src/kafka/topics.js'

describe('Kafka (real broker)', () => {
  const kafka = createKafka({
    clientId: 'mvad-it',
    brokers: inject('kafkaBrokers').split(','),
    logLevel: logLevel.WARN,
  })

  it('produces and consumes keyed messages through a topic created up front', async () => {
    const prefix = uniquePrefix('kafka')
    const topic = `${prefix}.readings`
    const admin = kafka.admin()
    await admin.connect()
    try {
      await createTopicsAndWait(admin, [{ topic, numPartitions: 3 }])
      const producer = kafka.producer({ allowAutoTopicCreation: false })
      await producer.connect()
      const sent = Array.from({ length: 30 }, (_, i) => ({ key: `entity-${i % 3}`, value: JSON.stringify({ i }) }))
      await producer.send({ topic, acks: -1, messages: sent })
      await producer.disconnect()

      const consumer = kafka.consumer({ groupId: `${prefix}.group` })
      await consumer.connect()
      await consumer.subscribe({ topic, fromBeginning: true })
      const received: { key: string; i: number; partition: number }[] = []
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${received.length}/30 messages consumed`)), 30_000)
        consumer
          .run({
            eachMessage: ({ message, partition }) => {
              const body = JSON.parse(message.value?.toString() ?? 'null') as { i: number }
              received.push({ key: message.key?.toString() ?? '', i: body.i, partition })
              if (received.length === sent.length) {
                clearTimeout(timer)
                resolve()
              }
              return Promise.resolve()
            },
          })
          .catch(reject)
      })
      await consumer.disconnect()

      expect(received.map((r) => r.i).sort((a, b) => a - b)).toEqual(sent.map((_, i) => i))
      // Same key → same partition: the ordering guarantee per entity the service relies on.
      const partitionsByKey = new Map<string, Set<number>>()
      for (const r of received) partitionsByKey.set(r.key, (partitionsByKey.get(r.key) ?? new Set()).add(r.partition))
      for (const partitions of partitionsByKey.values()) expect(partitions.size).toBe(1)
      // Per key, messages arrive in the order produced.
      for (const key of partitionsByKey.keys()) {
        const order = received.filter((r) => r.key === key).map((r) => r.i)
        expect(order).toEqual([...order].sort((a, b) => a - b))
      }
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined)
      await admin.disconnect()
    }
  })
})
