import { describe, expect, it } from 'vitest'
import {
  boundedDetail,
  estimatedBytes,
  inRequests,
  isMessageTooLarge,
  partitionedIfLongKey,
} from '../../../src/kafka/dead-letter.js'

describe('dead-letter sending', () => {
  it('cuts a detail to 2,000 characters, saying how much was left out', () => {
    expect(boundedDetail('short')).toBe('short')
    expect(boundedDetail('x'.repeat(2_500))).toBe(`${'x'.repeat(2_000)}… (500 more characters)`)
  })

  it('recognises a too-large refusal however kafkajs wrapped it', () => {
    const refusal = { type: 'MESSAGE_TOO_LARGE', code: 10 }
    expect(isMessageTooLarge(refusal)).toBe(true)
    expect(isMessageTooLarge({ name: 'KafkaJSNonRetriableError', cause: refusal })).toBe(true)
    expect(isMessageTooLarge({ originalError: { type: 'RECORD_LIST_TOO_LARGE' } })).toBe(true)
    expect(isMessageTooLarge({ type: 'NOT_LEADER_FOR_PARTITION' })).toBe(false)
    expect(isMessageTooLarge(undefined)).toBe(false)
  })

  it('names partition 0 for a key too long to hash (kafkajs murmur2 is quadratic in it), leaves others alone', () => {
    expect(partitionedIfLongKey({ key: 'x'.repeat(1_025), value: 'v' })).toEqual({
      key: 'x'.repeat(1_025),
      value: 'v',
      partition: 0,
    })
    expect(partitionedIfLongKey({ key: Buffer.alloc(1_024), value: 'v' })).not.toHaveProperty('partition')
    expect(partitionedIfLongKey({ key: null, value: 'v' })).not.toHaveProperty('partition')
  })

  it('cuts sends into requests under a byte budget, keeping order and topics; a large message goes alone', () => {
    const message = (value: string) => ({ key: 'k', value })
    expect(estimatedBytes(message('x'.repeat(100)))).toBe(64 + 1 + 100)
    const groups = [
      { topic: 'events', messages: [message('a'.repeat(300)), message('b'.repeat(300))] },
      { topic: 'dlq', messages: [message('c'.repeat(300)), message('d'.repeat(2_000)), message('e')] },
    ]
    const requests = inRequests(groups, 1_000)
    expect(requests.map((r) => r.map((g) => [g.topic, g.messages.map((m) => m.value[0]).join('')]))).toEqual([
      [['events', 'ab']],
      [['dlq', 'c']],
      [['dlq', 'd']],
      [['dlq', 'e']],
    ])
    expect(inRequests([{ topic: 't', messages: [] }])).toEqual([]) // nothing to send: no request
  })
})
