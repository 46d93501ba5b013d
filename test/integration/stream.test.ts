import { afterEach, describe, expect, it } from 'vitest'
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry'
import { inject } from 'vitest'
import { Registry } from 'prom-client'
import { createStreamMetrics } from '../../src/observability/stream-metrics.js'
import type { AnomalyEvent } from '../../src/stream/anomaly-event.js'
import { keySpace } from '../../src/state/keys.js'
import { pollUntil } from '../support/poll.js'
import { createHarness, type Harness } from '../support/stream-harness.js'
import { windowMeanModel } from '../support/window-mean-model.js'
import { MINUTE, T0, VARIABLES, frame, meanModelState, parseEvent } from '../support/stream-frames.js'

const state = meanModelState
const parse = parseEvent
type Collector = Awaited<ReturnType<Harness['collect']>>
const scoresOf = (scores: Collector, entity: string): AnomalyEvent[] =>
  scores.messages.map((m) => parse(m.value)).filter((e) => e.entity === entity)
const waitForScores = async (scores: Collector, entity: string, count: number): Promise<AnomalyEvent[]> => {
  await pollUntil(`${count} scores of ${entity}`, () => scoresOf(scores, entity).length >= count, { timeoutMs: 60_000 })
  return scoresOf(scores, entity)
}

/**
 * A binding change reaches the service as a Redis pub/sub notice, some time after `bindings.set` returns; until the
 * notice is handled the service keeps scoring the entity with the model it resolved before. A barrier waits for that
 * without a timed sleep. A probe entity, bound to a model of its own and scored once (so the service holds its
 * resolution), is bound to a new version of that model; probe frames are sent until one is scored with it. Notices
 * arrive in publish order on one channel and are handled synchronously, one after another, and an entity the service
 * holds changes model only when its own notice is handled: so once the probe scores with its new version, every
 * binding change published before `pass()` was called has been applied too.
 */
async function bindingBarrier(h: Harness, scores: Collector) {
  const entity = 'barrier-probe'
  const modelId = 'barrier-model'
  const register = () =>
    h.models.registerReady(modelId, JSON.stringify({ variables: VARIABLES, slidingWindow: 4, threshold: 1e9 }), {
      variables: VARIABLES,
      slidingWindow: 4,
    })
  let next = 0
  // One probe frame at a time: sent, its score awaited, its model version read; again until it is `version`.
  const scoredWith = async (version: number): Promise<void> => {
    const deadline = Date.now() + 30_000
    for (;;) {
      const timestamp = T0 + next * MINUTE
      await h.produce([frame(entity, next++, 0)])
      let seen: AnomalyEvent | undefined
      await pollUntil(`the score of probe frame ${next - 1}`, () => {
        seen = scoresOf(scores, entity).find((e) => Date.parse(e.timestamp) === timestamp)
        return seen !== undefined
      })
      if (seen?.modelVersion === version) return
      if (Date.now() > deadline) {
        throw new Error(
          `the service did not apply a binding change within 30 s (probe still on v${seen?.modelVersion})`,
        )
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  const first = await register()
  await h.bindings.set(entity, { modelId, version: first.version })
  return {
    /** Call once the service runs: the probe is scored, so the service holds its resolution. */
    ready: () => scoredWith(first.version),
    /** Returns once every binding change published before this call has been applied by the service. */
    async pass(): Promise<void> {
      const { version } = await register()
      await h.bindings.set(entity, { modelId, version })
      await scoredWith(version)
    },
  }
}

describe('stream service on real Kafka + Redis', () => {
  let harness: Harness | undefined
  afterEach(async () => {
    await harness?.close()
    harness = undefined
  })

  it('scores every frame of every entity once, in order, with deterministic event ids', async () => {
    const h = (harness = await createHarness('stream', windowMeanModel))
    await h.models.registerReady('m', state(5), { variables: VARIABLES, slidingWindow: 4 })
    for (const entity of ['dev-1', 'dev-2', 'dev-3']) await h.bindings.set(entity, { modelId: 'm' })
    const scores = await h.collect(h.topics.scores)
    const events = await h.collect(h.topics.events)
    await h.startService()
    const values = [1, 2, 30, 4, 5, 6]
    await h.produce(['dev-1', 'dev-2', 'dev-3'].flatMap((e) => values.map((a, i) => frame(e, i, a))))
    const received = (await scores.waitFor(18)).map((m) => parse(m.value))
    for (const entity of ['dev-1', 'dev-2', 'dev-3']) {
      const mine = received.filter((e) => e.entity === entity)
      expect(mine.map((e) => Date.parse(e.timestamp))).toEqual(values.map((_, i) => T0 + i * MINUTE))
      // The window is warm-started with the model's (zero) training tail, then holds the streamed frames.
      const rows = [0, 0, 0, ...values].map((a) => Float64Array.from([a, 0]))
      const model = windowMeanModel(state(5), { modelId: 'm', version: 1 })
      const expected = values.map((_, i) => model.scoreLast(rows.slice(i, i + 4), 10))
      expect(mine.map((e) => e.score)).toEqual(expected.map((v) => v.score))
    }
    const expectedAnomalies = received.filter((e) => e.isAnomaly)
    expect(expectedAnomalies.length).toBe(12) // 4 per entity with these values
    const anomalies = await events.waitFor(expectedAnomalies.length)
    expect(anomalies.map((m) => parse(m.value).eventId).sort()).toEqual(expectedAnomalies.map((e) => e.eventId).sort())
    expect(anomalies[0]?.headers['content-type']?.toString()).toBe('application/json')
  })

  it('sends bad records to the dead-letter topic with the original bytes and a reason, and keeps flowing', async () => {
    const h = (harness = await createHarness('dlq', windowMeanModel, 1))
    await h.models.registerReady('m', state(5), { variables: VARIABLES, slidingWindow: 4 })
    await h.bindings.set('dev-1', { modelId: 'm' })
    const dlq = await h.collect(h.topics.deadLetter)
    const scores = await h.collect(h.topics.scores)
    await h.startService()
    const bad = [
      { key: 'dev-1', value: '{"timestamp": oops' },
      { key: 'dev-1', value: JSON.stringify({ timestamp: T0, variable: 'a', value: 'NaN' }) },
      { key: 'dev-1', value: JSON.stringify({ timestamp: T0, variable: 'zzz', value: 1 }) },
      { key: 'nobody', value: JSON.stringify({ timestamp: T0, variable: 'a', value: 1 }) },
      { key: 'dev-1', value: JSON.stringify({ timestamp: '2999-01-01T00:00:00Z', variable: 'a', value: 1 }) },
      { key: null, value: JSON.stringify({ timestamp: T0, variable: 'a', value: 1 }) },
    ]
    await h.produce([...bad, frame('dev-1', 0, 1), frame('dev-1', 1, 1)])
    const letters = await dlq.waitFor(bad.length)
    expect(letters.map((m) => m.headers['mvad-dlq-reason']?.toString()).sort()).toEqual(
      [
        'malformed_json',
        'wrong_shape',
        'unknown_variable',
        'unknown_entity',
        'timestamp_out_of_bounds',
        'missing_key',
      ].sort(),
    )
    expect(letters.map((m) => m.value.toString()).sort()).toEqual(bad.map((b) => b.value).sort())
    for (const letter of letters) {
      expect(letter.headers['mvad-dlq-detail']?.toString().length).toBeGreaterThan(5)
      expect(letter.headers['mvad-source-topic']?.toString()).toBe(h.topics.readings)
    }
    expect(await scores.waitFor(2)).toHaveLength(2)
  })

  it('aligns per-variable readings out of order within the allowed lateness and dead-letters later ones', async () => {
    const h = (harness = await createHarness('late', windowMeanModel, 1))
    await h.models.registerReady('m', state(5), { variables: VARIABLES, slidingWindow: 4 })
    await h.bindings.set('dev-1', { modelId: 'm' })
    const dlq = await h.collect(h.topics.deadLetter)
    const scores = await h.collect(h.topics.scores)
    await h.startService({ allowedLatenessMs: 2 * MINUTE })
    const reading = (i: number, variable: string, value: number) => ({
      key: 'dev-1',
      value: JSON.stringify({ timestamp: T0 + i * MINUTE, variable, value }),
    })
    // t1 arrives before t0 completes; t0's b arrives late but within 2 minutes; t0 is scored first anyway.
    await h.produce([reading(0, 'a', 1), reading(1, 'a', 2), reading(1, 'b', 0), reading(0, 'b', 0)])
    await h.produce([reading(2, 'a', 3), reading(5, 'a', 4)]) // t2 incomplete; t5 moves the watermark 3 min past it
    await h.produce([reading(2, 'b', 9)]) // too late: t2 was scored with b filled from t1
    const scored = (await scores.waitFor(3)).map((m) => parse(m.value))
    expect(scored.map((e) => (Date.parse(e.timestamp) - T0) / MINUTE)).toEqual([0, 1, 2])
    const letters = await dlq.waitFor(1)
    // Which of the two late reasons depends on whether Kafka delivered it in the same batch as t5.
    expect(['late_after_emit', 'late_beyond_lateness']).toContain(letters[0]?.headers['mvad-dlq-reason']?.toString())
  })

  it("scores a silent entity's waiting frame after frameIdleFlushMs and commits past it", async () => {
    const h = (harness = await createHarness('idle', windowMeanModel, 1))
    await h.models.registerReady('m', state(5), { variables: VARIABLES, slidingWindow: 4 })
    for (const entity of ['dev-1', 'dev-2']) await h.bindings.set(entity, { modelId: 'm' })
    const scores = await h.collect(h.topics.scores)
    await h.startService({ frameIdleFlushMs: 1_000 })
    await h.produce([
      frame('dev-1', 0, 1, 1),
      { key: 'dev-1', value: JSON.stringify({ timestamp: T0 + MINUTE, variable: 'a', value: 7 }) },
    ])
    await scores.waitFor(1)
    await new Promise((resolve) => setTimeout(resolve, 1_500)) // dev-1 falls silent in the middle of its second frame
    await h.produce([frame('dev-2', 0, 1, 1)])
    const received = (await scores.waitFor(3)).map((m) => parse(m.value))
    const late = received.find((e) => e.entity === 'dev-1' && Date.parse(e.timestamp) === T0 + MINUTE)
    expect(late).toBeDefined()
    const admin = h.kafka.admin()
    await admin.connect()
    try {
      // Every message is committed: the half frame no longer holds the partition.
      await expect
        .poll(
          async () => {
            const [topic] = await admin.fetchOffsets({ groupId: `${h.prefix}.group`, topics: [h.topics.readings] })
            return topic?.partitions[0]?.offset
          },
          { timeout: 15_000, interval: 200 },
        )
        .toBe('3')
    } finally {
      await admin.disconnect()
    }
  })

  it('switches model version at run time without a restart', async () => {
    const h = (harness = await createHarness('switch', windowMeanModel, 1))
    await h.models.registerReady('m', state(5), { variables: VARIABLES, slidingWindow: 4 })
    await h.bindings.set('dev-1', { modelId: 'm', version: 1 })
    const scores = await h.collect(h.topics.scores)
    const barrier = await bindingBarrier(h, scores)
    await h.startService()
    await barrier.ready()
    await h.produce([frame('dev-1', 0, 1), frame('dev-1', 1, 1)])
    await waitForScores(scores, 'dev-1', 2)
    await h.models.registerReady('m', state(1000), { variables: VARIABLES, slidingWindow: 4 })
    await h.bindings.set('dev-1', { modelId: 'm', version: 2 })
    await barrier.pass() // the change notice travels over Redis pub/sub: wait until the service has applied it
    await h.produce([frame('dev-1', 2, 50)])
    const received = await waitForScores(scores, 'dev-1', 3)
    expect(received.map((e) => e.modelVersion)).toEqual([1, 1, 2])
    expect(received[2]?.isAnomaly).toBe(false) // threshold 1000 of version 2 (version 1 would call 50 an anomaly)
  })

  it('dead-letters a waiting reading the new model lacks as a rebuilt record, and says so in a header', async () => {
    const h = (harness = await createHarness('rebuilt', windowMeanModel, 1))
    await h.models.registerReady('m', state(5), { variables: VARIABLES, slidingWindow: 4 })
    await h.bindings.set('dev-1', { modelId: 'm', version: 1 })
    const scores = await h.collect(h.topics.scores)
    const dlq = await h.collect(h.topics.deadLetter)
    const barrier = await bindingBarrier(h, scores)
    await h.startService()
    await barrier.ready()
    const waiting = { timestamp: T0 + MINUTE, variable: 'b', value: 3 }
    await h.produce([frame('dev-1', 0, 1), { key: 'dev-1', value: JSON.stringify(waiting) }])
    await waitForScores(scores, 'dev-1', 1)
    const other = ['a', 'c']
    await h.models.registerReady('m', JSON.stringify({ variables: other, slidingWindow: 4, threshold: 5 }), {
      variables: other,
      slidingWindow: 4,
    })
    await h.bindings.set('dev-1', { modelId: 'm', version: 2 })
    // The change notice travels over Redis pub/sub: wait until the service has applied it (else the frame below would
    // meet version 1, and its `c` would be the dead letter, read from Kafka as it is).
    await barrier.pass()
    await h.produce([{ key: 'dev-1', value: JSON.stringify({ timestamp: T0 + MINUTE, values: { a: 1, c: 2 } }) }])
    const [letter] = await dlq.waitFor(1)
    expect(letter?.headers['mvad-dlq-reason']?.toString()).toBe('unknown_variable')
    expect(letter?.headers['mvad-dlq-rebuilt']?.toString()).toBe('true')
    expect(JSON.parse(letter?.value.toString() ?? '{}')).toEqual({
      variable: 'b',
      timestamp: new Date(waiting.timestamp).toISOString(),
      value: 3,
    })
    // Records read from Kafka as they are carry no such header.
    await h.produce([{ key: 'dev-1', value: JSON.stringify({ timestamp: T0 + 2 * MINUTE, variable: 'zz', value: 1 }) }])
    const letters = await dlq.waitFor(2)
    expect(letters[1]?.headers['mvad-dlq-rebuilt']).toBeUndefined()
  })

  it('reads and writes Avro through the schema registry', async () => {
    const h = (harness = await createHarness('avro', windowMeanModel, 1))
    await h.models.registerReady('m', state(5), { variables: VARIABLES, slidingWindow: 4 })
    await h.bindings.set('dev-1', { modelId: 'm' })
    const scores = await h.collect(h.topics.scores)
    await h.startService({ registry: true })
    const registry = new SchemaRegistry({ host: inject('schemaRegistryUrl') })
    const frameId = await registry.getLatestSchemaId(`${h.topics.readings}-io.mvadstream.v1.Frame`)
    // The third frame's b is NaN: Avro's way to say "missing" in a map<double>; the frame is scored with b filled.
    const encoded = await Promise.all(
      [1, 2, 40, 1].map((a, i) =>
        registry.encode(frameId, { timestamp: T0 + i * MINUTE, values: { a, b: i === 2 ? Number.NaN : 0 } }),
      ),
    )
    await h.produce([
      ...encoded.map((value) => ({ key: 'dev-1', value })),
      { key: 'dev-1', value: Buffer.from([0, 0, 0, 0, 99, 1]) },
    ])
    const received = await scores.waitFor(4)
    expect(received[0]?.headers['content-type']?.toString()).toBe('application/vnd.apache.avro+binary')
    const decoded = (await Promise.all(received.map((m) => registry.decode(m.value)))) as {
      timestamp: number
      isAnomaly: boolean
      filledVariables: string[]
    }[]
    expect(decoded.map((e) => e.timestamp)).toEqual([0, 1, 2, 3].map((i) => T0 + i * MINUTE))
    expect(decoded[2]?.isAnomaly).toBe(true)
    expect(decoded.map((e) => e.filledVariables)).toEqual([[], [], ['b'], []])
  })

  it('registers its schemas again when the registry lost them (in-memory storage restarted)', async () => {
    const h = (harness = await createHarness('avro-lost', windowMeanModel, 1))
    await h.models.registerReady('m', state(5), { variables: VARIABLES, slidingWindow: 4 })
    await h.bindings.set('dev-1', { modelId: 'm' })
    const scores = await h.collect(h.topics.scores)
    const service = await h.startService({ registry: true })
    const url = inject('schemaRegistryUrl').replace(/\/$/, '')
    const subjects = [
      `${h.topics.events}-value`,
      `${h.topics.scores}-value`,
      `${h.topics.readings}-io.mvadstream.v1.Reading`,
      `${h.topics.readings}-io.mvadstream.v1.Frame`,
    ]
    const listed = async (): Promise<string[]> =>
      ((await (await fetch(`${url}/subjects`)).json()) as string[]).filter((s) => subjects.includes(s))
    expect((await listed()).sort()).toEqual([...subjects].sort())
    for (const subject of subjects) {
      for (const query of ['', '?permanent=true']) {
        const response = await fetch(`${url}/subjects/${subject}${query}`, { method: 'DELETE' })
        expect(response.ok).toBe(true)
      }
    }
    expect(await listed()).toEqual([])

    await service.refreshSchemas() // what the health check calls every 10 s
    expect((await listed()).sort()).toEqual([...subjects].sort())
    const registry = new SchemaRegistry({ host: inject('schemaRegistryUrl') })
    const frameId = await registry.getLatestSchemaId(`${h.topics.readings}-io.mvadstream.v1.Frame`)
    await h.produce([
      { key: 'dev-1', value: await registry.encode(frameId, { timestamp: T0, values: { a: 1, b: 0 } }) },
    ])
    const [event] = await scores.waitFor(1)
    const eventId = event?.value.readInt32BE(1)
    expect(eventId).toBe(await registry.getLatestSchemaId(`${h.topics.scores}-value`))
    expect(await registry.decode(event?.value ?? Buffer.alloc(0))).toMatchObject({ timestamp: T0, entity: 'dev-1' })
  })

  // Redis back with older windows: found at start after a restart, or by the next append of a running service (a
  // failover to a replica that lagged, a restore from an older snapshot: the window is older than it was written).
  it.each([
    ['found at start, after a restart', true],
    ['under a running service', false],
  ])(
    'reads a partition again when Redis comes back with older windows than Kafka has committed (%s)',
    async (_, restart) => {
      const h = (harness = await createHarness(restart ? 'behind' : 'rollback', windowMeanModel, 1))
      await h.models.registerReady('m', state(5), { variables: VARIABLES, slidingWindow: 4 })
      await h.bindings.set('dev-1', { modelId: 'm' })
      const scores = await h.collect(h.topics.scores)
      const progressKey = keySpace(h.prefix).partitionProgress(`${h.prefix}.group/${h.topics.readings}`, 0)
      const progressReaches = (offset: string): Promise<void> =>
        pollUntil(`progress ${offset}`, async () => (await h.redis.get(progressKey)) === offset, { timeoutMs: 30_000 })
      const values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
      const first = await h.startService()
      await h.produce(values.slice(0, 4).map((a, i) => frame('dev-1', i, a)))
      await scores.waitFor(4)
      await progressReaches('4')
      // An RDB snapshot: every key of this test as it is now (window, progress, binding, model).
      const keys = await h.redis.keys(`${h.prefix}:*`)
      const snapshot = await Promise.all(keys.map(async (key) => ({ key, dump: await h.redis.dumpBuffer(key) })))
      await h.produce(values.slice(4, 8).map((a, i) => frame('dev-1', i + 4, a)))
      await scores.waitFor(8)
      await progressReaches('8') // and Kafka has the commit at 8
      if (restart) await first.stop()
      for (const { key, dump } of snapshot) if (dump !== null) await h.redis.restore(key, 0, dump, 'REPLACE')
      expect(await h.redis.get(progressKey)).toBe('4') // Redis is back with the older data

      if (restart) await h.startService()
      await h.produce(values.slice(8).map((a, i) => frame('dev-1', i + 8, a)))
      const latest = (): Map<number, AnomalyEvent> =>
        new Map(scores.messages.map((m) => parse(m.value)).map((e) => [Date.parse(e.timestamp), e]))
      await pollUntil('scores of frames 8 and 9', () => latest().size === values.length, { timeoutMs: 60_000 })
      // Scores as an uninterrupted stream gives them: frames 8 and 9 see a window with frames 5–7 in it (read
      // again from offset 4; without that the window would jump from frame 3 to frame 8).
      const rows = [0, 0, 0, ...values].map((a) => Float64Array.from([a, 0]))
      const model = windowMeanModel(state(5), { modelId: 'm', version: 1 })
      const expected = values.map((_, i) => model.scoreLast(rows.slice(i, i + 4), 10).score)
      const received = latest()
      expect(values.map((_, i) => received.get(T0 + i * MINUTE)?.score)).toEqual(expected)
      // Frames 4–7 came again, with the same event ids (consumers de-duplicate on them).
      const frame5 = scores.messages
        .map((m) => parse(m.value))
        .filter((e) => Date.parse(e.timestamp) === T0 + 5 * MINUTE)
      expect(frame5.length).toBeGreaterThanOrEqual(2)
      expect(new Set(frame5.map((e) => e.eventId)).size).toBe(1)
      await progressReaches('10') // saved after the re-read batch's acks, so a moment after its scores arrive
    },
  )

  it("leaves an operator's forward offset reset alone (a skipped backlog is not read again)", async () => {
    const h = (harness = await createHarness('skip', windowMeanModel, 1))
    await h.models.registerReady('m', state(5), { variables: VARIABLES, slidingWindow: 4 })
    await h.bindings.set('dev-1', { modelId: 'm' })
    const scores = await h.collect(h.topics.scores)
    const first = await h.startService()
    await h.produce([0, 1, 2, 3].map((i) => frame('dev-1', i, i + 1)))
    await scores.waitFor(4)
    await first.stop()
    await h.produce([4, 5].map((i) => frame('dev-1', i, i + 1))) // the backlog the operator skips
    const admin = h.kafka.admin()
    await admin.connect()
    // What kafka-consumer-groups --reset-offsets --to-latest does: a commit past the backlog, without our metadata.
    await admin.setOffsets({
      groupId: `${h.prefix}.group`,
      topic: h.topics.readings,
      partitions: [{ partition: 0, offset: '6' }],
    })
    await admin.disconnect()
    await h.startService()
    await h.produce([6, 7].map((i) => frame('dev-1', i, i + 1)))
    await scores.waitFor(6)
    // A (wrong) re-read of the skipped backlog would start when the first batch after the restart (frames 6–7) is
    // compared with the stored progress (4), and come in partition order: frames 4–5 would be scored before any frame
    // sent later. So a later frame scored is the point where the skipped frames would have shown.
    await h.produce([frame('dev-1', 8, 9)])
    const minutes = () => scores.messages.map((m) => (Date.parse(parse(m.value).timestamp) - T0) / MINUTE)
    await pollUntil('the score of frame 8, sent after the restart', () => minutes().includes(8), { timeoutMs: 60_000 })
    expect(minutes()).toEqual([0, 1, 2, 3, 6, 7, 8])
  })

  it('with MVAD_READINGS_START=latest a new group starts at the end of the topic, not at its oldest reading', async () => {
    const h = (harness = await createHarness('latest', windowMeanModel, 1))
    await h.models.registerReady('m', state(5), { variables: VARIABLES, slidingWindow: 4 })
    await h.bindings.set('dev-1', { modelId: 'm' })
    const scores = await h.collect(h.topics.scores)
    await h.produce([0, 1, 2].map((i) => frame('dev-1', i, i + 1))) // before the group existed
    await h.startService({ readingsStart: 'latest' })
    // The group's start offset is fixed at its first fetch, just after it joins: send new frames until one is scored.
    let next = 3
    await pollUntil(
      'a frame sent after the group joined to be scored',
      async () => {
        await h.produce([frame('dev-1', next, next + 1)])
        next++
        return scores.messages.length > 0
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    )
    // A (wrong) read of the old frames would come in partition order, before any frame sent later: one more frame
    // scored is the point where they would have shown.
    const last = next++
    await h.produce([frame('dev-1', last, last + 1)])
    const minutes = () => scores.messages.map((m) => (Date.parse(parse(m.value).timestamp) - T0) / MINUTE)
    await pollUntil(`the score of frame ${last}, the last one sent`, () => minutes().includes(last), {
      timeoutMs: 30_000,
    })
    expect(Math.min(...minutes())).toBeGreaterThanOrEqual(3)
  })

  it('keeps the lag gauge current from the broker while the readings topic is paused (no batch completes)', async () => {
    const h = (harness = await createHarness('lag', windowMeanModel, 2))
    await h.models.registerReady('m', state(5), { variables: VARIABLES, slidingWindow: 4 })
    await h.bindings.set('dev-1', { modelId: 'm' })
    const scores = await h.collect(h.topics.scores)
    const registry = new Registry()
    const metrics = createStreamMetrics(registry)
    const service = await h.startService({ metrics, lagRefreshMs: 300 })
    const lag = async () => {
      const gauge = await metrics.consumerLag.get()
      return gauge.values.reduce((sum, v) => sum + v.value, 0)
    }
    await h.produce([0, 1, 2].map((i) => frame('dev-1', i, i + 1)))
    await scores.waitFor(3)
    await pollUntil('the lag to be 0 once the frames are scored', async () => (await lag()) === 0)
    service.setStoreLost(true) // pauses the readings topic, as the health check does when Redis lost its data
    await h.produce([3, 4, 5, 6, 7].map((i) => frame('dev-1', i, i + 1)))
    await pollUntil('the lag to count the 5 readings that wait', async () => (await lag()) === 5, {
      timeoutMs: 15_000,
    })
    expect(scores.messages).toHaveLength(3)
    service.setStoreLost(false)
    await scores.waitFor(8)
    await pollUntil('the lag to fall back to 0', async () => (await lag()) === 0)
  })
})
