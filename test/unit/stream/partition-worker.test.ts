import { describe, expect, it } from 'vitest'
import { MemoryWindowStore } from '../../../src/state/window-store.js'
import type { InputMessage, WorkerObserver } from '../../../src/stream/partition-worker.js'
import {
  MINUTE,
  T0,
  VARIABLES,
  WINDOW,
  frame,
  isoOf,
  msg,
  nextOffset,
  setup,
  testModel,
} from '../../support/partition-worker-harness.js'

describe('PartitionWorker', () => {
  it('persists the window, then publishes, then clears pending events, and commits after the batch', async () => {
    const { makeWorker, log, sink } = await setup()
    const worker = makeWorker()
    const batch = [frame(0, 0), frame(1, 0), frame(2, 40)]
    const commit = await worker.processBatch(batch)
    expect(log).toEqual(['append:4', 'publish:3', 'clear'])
    expect(commit).toBe((batch[2] as InputMessage).offset + 1n)
    expect(sink.published.map((e) => e.event.isAnomaly)).toEqual([false, false, true])
    // Warm start: the first frame is scored with W−1 training-tail rows before it.
    expect(sink.published[0]?.event.timestamp).toBe('2024-01-01T00:00:00Z')
  })

  it('scores exactly what the window holds: same result as scoring the rows directly', async () => {
    const { makeWorker, sink } = await setup()
    await makeWorker().processBatch([frame(0, 1), frame(1, 2), frame(2, 30), frame(3, 4), frame(4, 5)])
    const model = testModel(JSON.stringify({ threshold: 5, variables: VARIABLES, slidingWindow: WINDOW }), {
      modelId: 'm',
      version: 1,
    })
    const rows = [0, 0, 0, 1, 2, 30, 4, 5].map((a) => Float64Array.from([a, 0]))
    const expected = [3, 4, 5, 6, 7].map((end) => model.scoreLast(rows.slice(end - WINDOW + 1, end + 1), 10).score)
    expect(sink.published.map((e) => e.event.score)).toEqual(expected)
  })

  it('after a crash between persist and publish, re-publishes the same events and counts no reading twice', async () => {
    const windows = new MemoryWindowStore()
    const { makeWorker, sink } = await setup(windows)
    const batch = [frame(0, 0), frame(1, 50)]
    sink.failNext = true
    await expect(makeWorker().processBatch(batch)).rejects.toThrow('broker down')
    expect(sink.published).toEqual([])
    // Restart: a new worker (no memory) gets the uncommitted batch again.
    const commit = await makeWorker().processBatch(batch)
    expect(commit).toBe((batch[1] as InputMessage).offset + 1n)
    expect(sink.published.map((e) => e.event.timestamp)).toEqual(['2024-01-01T00:00:00Z', '2024-01-01T00:01:00Z'])
    const stored = await windows.load('dev-1')
    expect(stored?.rows).toHaveLength(WINDOW)
    expect(stored?.timestamps.filter((t) => Number.isFinite(t))).toEqual([T0, T0 + MINUTE])
    expect(stored?.pendingEvents).toEqual([])
    // And the ids are the ones a clean run produces.
    const clean = await setup()
    await clean.makeWorker().processBatch([frame(0, 0), frame(1, 50)])
    expect(clean.sink.published.map((e) => e.event.eventId)).toEqual(sink.published.map((e) => e.event.eventId))
  })

  it('after a crash between persist and publish, dead-letters a late reading of the batch once, from the store', async () => {
    const windows = new MemoryWindowStore()
    const { makeWorker, sink } = await setup(windows)
    const scored = [frame(0, 0), frame(1, 0)]
    const late = msg('dev-1', { timestamp: T0, variable: 'a', value: 9 }) // frame 0 is scored before it comes
    const batch = [...scored, late, frame(2, 0)]
    sink.failNext = true
    await expect(makeWorker().processBatch(batch)).rejects.toThrow('broker down')
    expect((await windows.load('dev-1'))?.pendingEvents).toHaveLength(4) // three scores, one dead letter
    // Restart: the late reading is covered by the stored window now (replayed), so only the store remembers it.
    await makeWorker().processBatch(batch)
    expect(sink.deadLetters.map((d) => [d.reason, d.message.offset, d.message.value?.toString()])).toEqual([
      ['late_beyond_lateness', late.offset, late.value?.toString()],
    ])
    expect(sink.published).toHaveLength(3)
    expect((await windows.load('dev-1'))?.pendingEvents).toEqual([])
    // The same worker retrying the batch after a failed publish: the same, once.
    const retried = await setup(new MemoryWindowStore())
    const worker = retried.makeWorker()
    retried.sink.failNext = true
    await expect(worker.processBatch(batch)).rejects.toThrow('broker down')
    await worker.processBatch(batch)
    expect(retried.sink.deadLetters.map((d) => d.message.offset)).toEqual([late.offset])
  })

  it('dead-letters a late reading last in its batch once after a crash, though a re-read finds it late again', async () => {
    const windows = new MemoryWindowStore()
    const { makeWorker, sink } = await setup(windows)
    const scored = [frame(0, 0), frame(1, 0)]
    // No later frame covers its offset: read again, it is not "replayed" but judged late again.
    const late = msg('dev-1', { timestamp: T0, variable: 'a', value: 9 })
    sink.failNext = true
    await expect(makeWorker().processBatch([...scored, late])).rejects.toThrow('broker down')
    await makeWorker().processBatch([...scored, late])
    expect(sink.deadLetters.map((d) => d.message.offset)).toEqual([late.offset])
    expect((await windows.load('dev-1'))?.pendingEvents).toEqual([])
  })

  it('refuses to go on over a window the store holds older than it wrote it (Redis back with older data)', async () => {
    const windows = new MemoryWindowStore()
    const { makeWorker, sink } = await setup(windows)
    const worker = makeWorker()
    await worker.processBatch([frame(0, 1), frame(1, 2)])
    const snapshot = await windows.load('dev-1') // what an older RDB snapshot would hold
    await worker.processBatch([frame(2, 3), frame(3, 4)])
    const ahead = await windows.load('dev-1')
    if (snapshot === undefined || ahead === undefined) throw new Error('window not stored')
    await windows.append('dev-1', WINDOW, {
      modelKey: snapshot.modelKey,
      expectedCoveredOffset: ahead.coveredOffset,
      replace: true,
      timestamps: snapshot.timestamps,
      rows: snapshot.rows,
      coveredOffset: snapshot.coveredOffset,
      pendingEvents: [],
    })
    const published = sink.published.length
    await expect(worker.processBatch([frame(4, 5)])).rejects.toMatchObject({ code: 'StoreBehind', retriable: true })
    expect(sink.published).toHaveLength(published) // nothing scored on the window with a hole in it
    expect((await windows.load('dev-1'))?.timestamps).toEqual(snapshot.timestamps) // and nothing written
  })

  it('still redoes an entity whose stored window another owner moved ahead (a lost race, not a loss)', async () => {
    const windows = new MemoryWindowStore()
    const { makeWorker, sink } = await setup(windows)
    const first = makeWorker()
    const second = makeWorker()
    await first.processBatch([frame(0, 1)])
    await second.processBatch([frame(1, 2)]) // the partition moved; this owner loaded and appended
    await first.processBatch([frame(2, 3)]) // the old owner, still running, finds the window ahead: reloads, redoes
    expect(sink.published.map((e) => e.event.timestamp)).toContain('2024-01-01T00:02:00Z')
  })

  it('dead-letters bad records with a reason and keeps going', async () => {
    const { makeWorker, sink } = await setup()
    const worker = makeWorker()
    await worker.processBatch([
      msg(null, { timestamp: T0, values: { a: 1, b: 1 } }),
      msg('dev-1', '{not json'),
      msg('dev-1', { timestamp: 'yesterday', values: { a: 1 } }),
      msg('dev-1', { timestamp: T0, variable: 'a', value: 'x' }),
      msg('dev-1', { timestamp: T0, variable: 'zzz', value: 1 }),
      msg('dev-9', { timestamp: T0, variable: 'a', value: 1 }),
      msg('dev-1', { timestamp: '1969-01-01T00:00:00Z', variable: 'a', value: 1 }),
      frame(0, 1),
      frame(1, 1),
      msg('dev-1', { timestamp: T0, variable: 'a', value: 9 }),
    ])
    // Decode failures come first, then each entity's own (unknown variable, lateness, unbound entity).
    expect(sink.deadLetters.map((d) => d.reason)).toEqual([
      'missing_key',
      'malformed_json',
      'bad_timestamp',
      'wrong_shape',
      'timestamp_out_of_bounds',
      'unknown_variable',
      'late_beyond_lateness',
      'unknown_entity',
    ])
    for (const letter of sink.deadLetters) expect(letter.detail.length).toBeGreaterThan(10)
    // A reading for a frame already scored in an earlier batch is late too.
    await worker.processBatch([msg('dev-1', { timestamp: T0, variable: 'b', value: 9 })])
    expect(sink.deadLetters.at(-1)?.reason).toBe('late_after_emit')
    expect(sink.published).toHaveLength(2)
  })

  it('dead-letters a reading far ahead of its Kafka timestamp, so one wrong clock cannot make the entity late', async () => {
    const { makeWorker, sink } = await setup(undefined, undefined, { maxFutureMs: 86_400_000 })
    const worker = makeWorker()
    const kafkaTime = T0 + 10 * MINUTE
    await worker.processBatch([
      msg('dev-1', { timestamp: '2099-12-31T00:00:00Z', variable: 'a', value: 1 }, kafkaTime),
      frame(0, 1),
      frame(1, 1),
      frame(2, 1),
    ])
    expect(sink.deadLetters.map((d) => d.reason)).toEqual(['timestamp_in_future'])
    expect(sink.deadLetters[0]?.detail).toMatch(/2099-12-31T00:00:00.000Z is more than 86400000 ms ahead/)
    expect(sink.published.map((e) => e.event.timestamp)).toEqual([
      '2024-01-01T00:00:00Z',
      '2024-01-01T00:01:00Z',
      '2024-01-01T00:02:00Z',
    ]) // scored, not late
    // Exactly at the bound is accepted.
    await worker.processBatch([
      msg('dev-1', { timestamp: T0 + 3 * MINUTE, values: { a: 1, b: 0 } }, T0 + 3 * MINUTE - 86_400_000),
    ])
    expect(sink.deadLetters).toHaveLength(1)
    // A record without a Kafka timestamp (-1, old message formats) gives no reference: not checked.
    await worker.processBatch([msg('dev-1', { timestamp: T0 + 4 * MINUTE, values: { a: 1, b: 0 } }, -1)])
    expect(sink.deadLetters).toHaveLength(1)
  })

  it('dead-letters a key longer than any entity id before anything looks it up, and forwards nothing else', async () => {
    const { makeWorker, sink } = await setup()
    await makeWorker().processBatch([msg('x'.repeat(1_025), { timestamp: T0, values: { a: 1, b: 1 } }), frame(0, 1)])
    expect(sink.deadLetters.map((d) => [d.reason, d.detail])).toEqual([
      ['key_too_long', 'message key of 1025 bytes; an entity id is at most 256 characters (1024 bytes)'],
    ])
    expect(sink.published).toHaveLength(1)
  })

  it('takes a batch of 200,000 readings of one entity (dead letters appended without spreading them)', async () => {
    const { makeWorker, sink } = await setup()
    const body = Buffer.from(JSON.stringify({ timestamp: T0, variable: 'a', value: 1 }))
    const batch = Array.from({ length: 200_000 }, (): InputMessage => ({
      key: Buffer.from('dev-9'), // bound to no model: every reading is dead-lettered
      value: body,
      offset: nextOffset(),
      kafkaTimestamp: T0,
    }))
    await makeWorker().processBatch(batch)
    expect(sink.deadLetters).toHaveLength(200_000)
  }, 60_000)

  it('dead-letters a frame message once per reason, naming its variables, and again when its batch is replayed', async () => {
    const { makeWorker, sink } = await setup()
    const worker = makeWorker()
    const mixed = msg('dev-1', { timestamp: T0, values: { a: 1, b: 2, zz: 3, yy: 4 } })
    const batch = [mixed, frame(1, 1)]
    await worker.processBatch(batch)
    expect(sink.deadLetters.map((d) => [d.reason, d.detail])).toEqual([
      ['unknown_variable', 'variables "zz", "yy" not in model m@1'],
    ])
    await worker.processBatch([msg('dev-1', { timestamp: T0, values: { a: 5, b: 6 } })])
    expect(sink.deadLetters.at(-1)?.reason).toBe('late_after_emit')
    expect(sink.deadLetters.at(-1)?.detail).toContain('variables "a", "b" at 2024-01-01T00:00:00.000Z')
    // Replayed by a new owner (a crash after persisting, before the acks): the unknown variables go out again.
    await makeWorker().processBatch(batch)
    expect(sink.deadLetters.map((d) => d.reason)).toEqual(['unknown_variable', 'late_after_emit', 'unknown_variable'])
    expect(sink.published).toHaveLength(2)
  })

  it('commits only up to the oldest reading waiting in an incomplete frame', async () => {
    const { makeWorker } = await setup()
    const worker = makeWorker()
    const first = msg('dev-1', { timestamp: T0, variable: 'a', value: 1 })
    const second = msg('dev-1', { timestamp: T0, variable: 'c', value: 1 })
    expect(await worker.processBatch([first, second])).toBe(first.offset)
    const third = msg('dev-1', { timestamp: T0, variable: 'b', value: 1 })
    expect(await worker.processBatch([third])).toBe(third.offset + 1n)
  })

  it('scores the waiting frame of an entity silent for frameIdleFlushMs (Kafka time), filled, and commits past it', async () => {
    const { makeWorker, sink, bindings, windows } = await setup(new MemoryWindowStore(), [], {
      frameIdleFlushMs: 60_000,
    })
    await bindings.set('dev-2', { modelId: 'm' })
    const worker = makeWorker()
    const at = Date.UTC(2024, 5, 1)
    await worker.processBatch([msg('dev-1', { timestamp: T0, values: { a: 3, b: 4 } }, at)])
    const half = msg('dev-1', { timestamp: T0 + MINUTE, variable: 'a', value: 9 }, at + 1_000)
    const other = (i: number, t: number) => msg('dev-2', { timestamp: T0 + i * MINUTE, values: { a: 1, b: 1 } }, t)
    // 59 s later by Kafka time: still waiting, the commit holds at the half frame.
    expect(await worker.processBatch([half, other(0, at + 60_000)])).toBe(half.offset)
    const later = other(1, at + 61_001)
    expect(await worker.processBatch([later])).toBe(later.offset + 1n)
    const flushed = sink.published.filter((e) => e.entity === 'dev-1' && e.event.timestamp === isoOf(T0 + MINUTE))
    expect(flushed).toHaveLength(1)
    expect([...((await windows.load('dev-1'))?.rows.at(-1) ?? [])]).toEqual([9, 4]) // b carried forward (Previous)
    // The missing reading arriving now is late, and a dead letter says so.
    await worker.processBatch([msg('dev-1', { timestamp: T0 + MINUTE, variable: 'b', value: 5 }, at + 62_000)])
    expect(sink.deadLetters.map((d) => d.reason)).toEqual(['late_after_emit'])
  })

  it('counts the frames waiting for readings, and the frames that left with variables filled', async () => {
    const filled: number[] = []
    const observer: WorkerObserver = {
      readings: () => undefined,
      frameScored: () => undefined,
      shadowScored: () => undefined,
      windowStoreSeconds: () => undefined,
      endToEndSeconds: () => undefined,
      framesFlushedIdle: () => undefined,
      framesFilled: (count) => void filled.push(count),
    }
    const { makeWorker, sink } = await setup(new MemoryWindowStore(), [], { observer })
    const worker = makeWorker()
    await worker.processBatch([frame(0, 1, 1), msg('dev-1', { timestamp: T0 + MINUTE, variable: 'a', value: 2 })])
    expect([worker.pendingFrameCount, filled]).toEqual([1, []])
    // The next timestamp moves the watermark past the waiting frame (allowed lateness 0): it leaves with b filled.
    await worker.processBatch([frame(2, 3, 3)])
    expect([worker.pendingFrameCount, filled]).toEqual([0, [1]])
    // Its event names the filled variable; the others carry no such field.
    expect(sink.published.map((e) => e.event.filledVariables)).toEqual([undefined, ['b'], undefined])
  })

  it('with frameIdleFlushMs 0 a silent entity keeps its frame waiting and the commit with it', async () => {
    const { makeWorker, bindings } = await setup(new MemoryWindowStore(), [], { frameIdleFlushMs: 0 })
    await bindings.set('dev-2', { modelId: 'm' })
    const worker = makeWorker()
    const half = msg('dev-1', { timestamp: T0, variable: 'a', value: 9 }, 0)
    expect(await worker.processBatch([half])).toBe(half.offset)
    const muchLater = msg('dev-2', { timestamp: T0, values: { a: 1, b: 1 } }, 86_400_000)
    expect(await worker.processBatch([muchLater])).toBe(half.offset)
  })

  it('a batch retried by the same worker after its publish failed still publishes what it persisted, once', async () => {
    const windows = new MemoryWindowStore()
    const { makeWorker, sink } = await setup(windows)
    const worker = makeWorker()
    const batch = [frame(0, 0), frame(1, 50)]
    sink.failNext = true
    await expect(worker.processBatch(batch)).rejects.toThrow('broker down')
    // kafkajs hands the same batch back to the same worker (it stays in memory across a consumer restart).
    expect(await worker.processBatch(batch)).toBe((batch[1] as InputMessage).offset + 1n)
    expect(sink.published.map((e) => e.event.timestamp)).toEqual([isoOf(T0), isoOf(T0 + MINUTE)])
    expect((await windows.load('dev-1'))?.pendingEvents).toEqual([])
    await worker.processBatch([frame(2, 0)])
    expect(sink.published.map((e) => e.event.timestamp)).toEqual([0, 1, 2].map((i) => isoOf(T0 + i * MINUTE)))
  })

  it('dead-letters the readings of an entity whose model cannot be loaded, and keeps the partition flowing', async () => {
    const { makeWorker, sink, bindings, models } = await setup()
    await models.registerReady('broken', '{not a state', { variables: VARIABLES, slidingWindow: WINDOW })
    await bindings.set('dev-2', { modelId: 'broken' })
    const worker = makeWorker()
    const bad = msg('dev-2', { timestamp: T0, values: { a: 1, b: 1 } })
    const good = frame(0, 1)
    expect(await worker.processBatch([bad, good])).toBe(good.offset + 1n)
    expect(sink.deadLetters.map((d) => d.reason)).toEqual(['unknown_entity'])
    expect(sink.deadLetters[0]?.detail).toContain('cannot be served')
    expect(sink.deadLetters[0]?.detail).toContain('broken@1')
    expect(sink.published.map((e) => e.entity)).toEqual(['dev-1'])
  })

  it('scores a shadow model on the same window (its own length and column order), tagged and with its own ids', async () => {
    const { makeWorker, sink, bindings, models, windows } = await setup()
    // Shadow: first variable is b (default's column 1), longer window, threshold low enough to fire.
    const shadowState = JSON.stringify({ threshold: 1, variables: ['b', 'a'], slidingWindow: WINDOW + 2 })
    await models.registerReady('s', shadowState, { variables: ['b', 'a'], slidingWindow: WINDOW + 2 })
    await bindings.set('dev-1', { modelId: 'm', shadow: { modelId: 's' } })
    const frames = [frame(0, 1, 0), frame(1, 2, 0), frame(2, 3, 0), frame(3, 4, 30), frame(4, 5, 0)]
    await makeWorker().processBatch(frames)
    const shadowEvents = sink.published.filter((e) => e.event.shadow === true)
    const defaultEvents = sink.published.filter((e) => e.event.shadow === undefined)
    expect(defaultEvents.map((e) => e.event.modelId)).toEqual(['m', 'm', 'm', 'm', 'm'])
    // The warm start holds W−1 = 3 rows; the shadow needs W+2 = 6, so it starts at the third frame.
    expect(shadowEvents.map((e) => e.event.timestamp)).toEqual([2, 3, 4].map((i) => isoOf(T0 + i * MINUTE)))
    const shadow = testModel(shadowState, { modelId: 's', version: 1 })
    const b = [0, 0, 0, 0, 0, 0, 30, 0]
    const expected = [5, 6, 7].map((end) => {
      const window = b.slice(end - (WINDOW + 2) + 1, end + 1).map((v, i) => Float64Array.from([v, i]))
      return shadow.scoreLast(window, 10)
    })
    expect(shadowEvents.map((e) => e.event.score)).toEqual(expected.map((v) => v.score))
    expect(shadowEvents.map((e) => e.isAnomaly)).toEqual([false, true, true])
    expect(new Set(sink.published.map((e) => e.event.eventId)).size).toBe(sink.published.length)
    // The stored window is as long as the longer model needs.
    expect((await windows.load('dev-1'))?.rows).toHaveLength(WINDOW + 2)
  })
})
