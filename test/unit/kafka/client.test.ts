import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { mendRequestQueue } from '../../../src/kafka/client.js'

interface QueueState {
  throttledUntil: number
  throttleCheckTimeoutId: NodeJS.Timeout | null
  pending: unknown[]
  checks: number
  checkPendingRequests(): void
}

const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as {
  prototype: { scheduleCheckPendingRequests: (this: QueueState) => void }
}

function queue(pending: unknown[], throttledUntil: number): QueueState {
  return {
    throttledUntil,
    throttleCheckTimeoutId: null,
    pending,
    checks: 0,
    checkPendingRequests() {
      this.checks++
    },
  }
}

describe('kafkajs request-queue mend', () => {
  it('arms no timer on an idle connection (kafkajs 2.2.4 polled every 1 ms), but does when requests wait', async () => {
    expect(mendRequestQueue()).toBe(true)
    const schedule = RequestQueue.prototype.scheduleCheckPendingRequests
    const idle = queue([], -1)
    schedule.call(idle)
    expect(idle.throttleCheckTimeoutId).toBeNull()
    const waiting = queue([{}], -1)
    schedule.call(waiting)
    expect(waiting.throttleCheckTimeoutId).not.toBeNull()
    const throttled = queue([], Date.now() + 20)
    schedule.call(throttled)
    expect(throttled.throttleCheckTimeoutId).not.toBeNull()
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect([idle.checks, waiting.checks, throttled.checks]).toEqual([0, 1, 1])
    expect(waiting.throttleCheckTimeoutId).toBeNull() // cleared before the check, as kafkajs does
  })
})
