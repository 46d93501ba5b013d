/**
 * Redis losing its latest writes while the service runs (a failover to a replica that lagged, a restore from an
 * older snapshot): the worker finds a window older than it wrote it (StoreBehind) on its next append, and the service
 * reads the partition again from what Redis has, so the windows catch up and no frame is scored against a gap.
 * (stream.test.ts covers the same loss found at start, after a restart.)
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { AnomalyEvent } from '../../src/stream/anomaly-event.js'
import { keySpace } from '../../src/state/keys.js'
import { pollUntil } from '../support/poll.js'
import { createHarness, type Harness } from '../support/stream-harness.js'
import { windowMeanModel } from '../support/window-mean-model.js'
import { MINUTE, T0, VARIABLES, frame as entityFrame, meanModelState, parseEvent } from '../support/stream-frames.js'

const state = meanModelState(5)
const frame = (i: number, a: number) => entityFrame('dev-1', i, a)
const parse = parseEvent

describe('stream service, Redis rolled back under a running service', () => {
  let harness: Harness | undefined
  afterEach(async () => {
    await harness?.close()
    harness = undefined
  })

  it('reads the partition again from what Redis kept, and scores every frame as an unbroken stream would', async () => {
    const h = (harness = await createHarness('rollback', windowMeanModel, 1))
    await h.models.registerReady('m', state, { variables: VARIABLES, slidingWindow: 4 })
    await h.bindings.set('dev-1', { modelId: 'm' })
    const scores = await h.collect(h.topics.scores)
    const progressKey = keySpace(h.prefix).partitionProgress(`${h.prefix}.group/${h.topics.readings}`, 0)
    const progressReaches = (offset: string): Promise<void> =>
      pollUntil(`progress ${offset}`, async () => (await h.redis.get(progressKey)) === offset, { timeoutMs: 30_000 })
    const values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    await h.startService()
    await h.produce(values.slice(0, 4).map((a, i) => frame(i, a)))
    await scores.waitFor(4)
    await progressReaches('4')
    const keys = await h.redis.keys(`${h.prefix}:*`)
    const snapshot = await Promise.all(keys.map(async (key) => ({ key, dump: await h.redis.dumpBuffer(key) })))
    await h.produce(values.slice(4, 8).map((a, i) => frame(i + 4, a)))
    await scores.waitFor(8)
    await progressReaches('8')
    // The service keeps running; Redis comes back with its state after frame 3.
    for (const { key, dump } of snapshot) if (dump !== null) await h.redis.restore(key, 0, dump, 'REPLACE')
    expect(await h.redis.get(progressKey)).toBe('4')

    await h.produce(values.slice(8).map((a, i) => frame(i + 8, a)))
    const latest = (): Map<number, AnomalyEvent> =>
      new Map(scores.messages.map((m) => parse(m.value)).map((e) => [Date.parse(e.timestamp), e]))
    await pollUntil('scores of frames 8 and 9', () => latest().size === values.length, { timeoutMs: 60_000 })
    // Frames 8 and 9 see windows with frames 5–7 in them (read again from offset 4), not a jump from frame 3.
    const rows = [0, 0, 0, ...values].map((a) => Float64Array.from([a, 0]))
    const model = windowMeanModel(state, { modelId: 'm', version: 1 })
    const expected = values.map((_, i) => model.scoreLast(rows.slice(i, i + 4), 10).score)
    const received = latest()
    expect(values.map((_, i) => received.get(T0 + i * MINUTE)?.score)).toEqual(expected)
    // Frames 4–7 were scored again, with the same event ids (consumers de-duplicate on them).
    const frame5 = scores.messages.map((m) => parse(m.value)).filter((e) => Date.parse(e.timestamp) === T0 + 5 * MINUTE)
    expect(frame5.length).toBeGreaterThanOrEqual(2)
    expect(new Set(frame5.map((e) => e.eventId)).size).toBe(1)
    await progressReaches('10')
  })
})
