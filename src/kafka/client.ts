/**
 * The one way this service makes a kafkajs client: `createKafka`, which first mends an idle busy loop in kafkajs
 * 2.2.4 (the pinned version; upstream issue tulios/kafkajs#1751, fix proposed in PRs #1755/#1768, unreleased).
 *
 * Every broker connection's request queue re-arms a timer for `throttledUntil − now` after each check, even when
 * nothing is pending and nothing is throttled; `throttledUntil` is −1 then, the delay is negative, Node runs it after
 * 1 ms — and the check re-arms it again. So each connection polls 1,000 times a second for as long as it is open (and
 * Node 24 prints a TimeoutNegativeWarning the first time). Measured on this machine with an admin, a producer and a
 * consumer connected to one idle broker: 3.8 % of a core, 0.5 % with the mend. The mended check arms the timer only
 * when requests are pending or the broker throttles us; a request that cannot be sent at once is queued and the
 * check scheduled by kafkajs itself, and each fulfilled request checks the queue again, so nothing waits longer.
 */
import { createRequire } from 'node:module'
import { Kafka, type KafkaConfig } from 'kafkajs'

/** kafkajs's pending-request poll interval (ms), as in its own code. */
const CHECK_PENDING_REQUESTS_INTERVAL = 10

interface RequestQueueLike {
  throttledUntil: number
  throttleCheckTimeoutId: NodeJS.Timeout | null
  pending: unknown[]
  checkPendingRequests(): void
}

let mended: boolean | undefined

/** Applies the mend once; false when this kafkajs is not the version it was written for (then nothing is changed). */
export function mendRequestQueue(): boolean {
  if (mended !== undefined) return mended
  const require = createRequire(import.meta.url)
  const version = (require('kafkajs/package.json') as { version: string }).version
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as {
    prototype: { scheduleCheckPendingRequests?: (this: RequestQueueLike) => void }
  }
  const original = RequestQueue.prototype.scheduleCheckPendingRequests
  mended = version === '2.2.4' && typeof original === 'function'
  if (!mended) return false
  RequestQueue.prototype.scheduleCheckPendingRequests = function (this: RequestQueueLike): void {
    if (this.throttleCheckTimeoutId) return
    let delay = this.throttledUntil - Date.now()
    if (this.pending.length > 0) delay = delay > 0 ? delay : CHECK_PENDING_REQUESTS_INTERVAL
    else if (delay <= 0) return // nothing queued, not throttled: nothing to check until a request comes
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null
      this.checkPendingRequests()
    }, delay)
  }
  return true
}

export function createKafka(config: KafkaConfig): Kafka {
  mendRequestQueue()
  return new Kafka(config)
}
