import { describe, expect, it } from 'vitest'
import { boundedDetail, estimatedBytes, inRequests, isMessageTooLarge } from '../../../src/kafka/dead-letter.js'

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
