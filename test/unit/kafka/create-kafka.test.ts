/**
 * Its own file (a fresh module graph): here nothing but createKafka applies the request-queue mend, so the test
 * fails if createKafka stops applying it (client.test.ts calls mendRequestQueue itself).
 */
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { createKafka } from '../../../src/kafka/client.js'

const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as {
  prototype: { scheduleCheckPendingRequests: (this: object) => void }
}

describe('createKafka', () => {
  it('applies the request-queue mend: an idle queue arms no timer', () => {
    const idle = { throttledUntil: -1, throttleCheckTimeoutId: null, pending: [], checkPendingRequests: () => {} }
    const before = RequestQueue.prototype.scheduleCheckPendingRequests
    const kafka = createKafka({ clientId: 't', brokers: ['127.0.0.1:1'] })
    expect(typeof kafka.producer).toBe('function')
    expect(RequestQueue.prototype.scheduleCheckPendingRequests).not.toBe(before)
    RequestQueue.prototype.scheduleCheckPendingRequests.call(idle)
    expect(idle.throttleCheckTimeoutId).toBeNull()
  })
})
