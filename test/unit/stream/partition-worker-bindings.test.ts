/** The partition worker across binding changes: a new version, waiting readings carried, a replaced window. */
import { describe, expect, it } from 'vitest'
import { MemoryWindowStore } from '../../../src/state/window-store.js'
import { ModelResolver } from '../../../src/stream/model-runtime.js'
import {
  MINUTE,
  T0,
  VARIABLES,
  WINDOW,
  frame,
  isoOf,
  msg,
  setup,
  testModel,
} from '../../support/partition-worker-harness.js'

/** Registers version 2 of model m (with these variables, threshold 100) and binds dev-1 to it, as a deploy does. */
async function bindVersion2(
  stores: Pick<Awaited<ReturnType<typeof setup>>, 'models' | 'bindings'>,
  variables: string[],
): Promise<void> {
  await stores.models.registerReady('m', JSON.stringify({ threshold: 100, variables, slidingWindow: WINDOW }), {
    variables,
    slidingWindow: WINDOW,
  })
  await stores.bindings.set('dev-1', { modelId: 'm', version: 2 })
}

describe('PartitionWorker across binding changes', () => {
  it('picks up a new model version after the binding changes', async () => {
    const { makeWorker, sink, bindings, models } = await setup()
    const resolver = new ModelResolver(bindings, models, testModel)
    const worker = makeWorker(resolver)
    await worker.processBatch([frame(0, 1)])
    await bindVersion2({ models, bindings }, VARIABLES)
    resolver.invalidate('dev-1') // what the service does on a binding change, with forget
    worker.forget('dev-1')
    await worker.processBatch([frame(1, 1)])
    expect(sink.published.map((e) => e.event.modelVersion)).toEqual([1, 2])
  })

  it('keeps the readings waiting in an incomplete frame across a binding change, and commits no further', async () => {
    const { makeWorker, sink, bindings, models, windows } = await setup()
    const resolver = new ModelResolver(bindings, models, testModel)
    const worker = makeWorker(resolver)
    await worker.processBatch([frame(0, 1, 1)])
    const waiting = msg('dev-1', { timestamp: T0 + MINUTE, variable: 'a', value: 50 })
    expect(await worker.processBatch([waiting])).toBe(waiting.offset)
    await bindVersion2({ models, bindings }, VARIABLES)
    resolver.invalidate('dev-1')
    worker.forget('dev-1')
    // Another entity's batch passes: the commit still waits for the carried reading.
    expect(await worker.processBatch([msg('dev-9', { timestamp: T0, variable: 'a', value: 1 })])).toBe(waiting.offset)
    const rest = msg('dev-1', { timestamp: T0 + MINUTE, variable: 'b', value: 7 })
    expect(await worker.processBatch([rest])).toBe(rest.offset + 1n)
    const scored = sink.published.filter((e) => e.event.timestamp === isoOf(T0 + MINUTE))
    expect(scored.map((e) => e.event.modelVersion)).toEqual([2])
    const stored = await windows.load('dev-1')
    expect([...(stored?.rows.at(-1) ?? [])]).toEqual([50, 7]) // the carried value, not a fill
  })

  it('after a model with other variables replaces the window, frames the old one scored stay scored', async () => {
    const { makeWorker, sink, bindings, models } = await setup()
    const resolver = new ModelResolver(bindings, models, testModel)
    const worker = makeWorker(resolver)
    const scored = [frame(0, 1), frame(1, 1)]
    await worker.processBatch(scored)
    const wider = ['a', 'b', 'c']
    await bindVersion2({ models, bindings }, wider)
    resolver.invalidate('dev-1')
    worker.forget('dev-1')
    const late = msg('dev-1', { timestamp: T0 + MINUTE, values: { a: 1, b: 1, c: 1 } })
    // The batch read again (a restart before the commit): replayed, neither scored nor dead-lettered again.
    await worker.processBatch([
      ...scored,
      late,
      msg('dev-1', { timestamp: T0 + 2 * MINUTE, values: { a: 1, b: 1, c: 1 } }),
    ])
    expect(sink.published.map((e) => [e.event.timestamp, e.event.modelVersion])).toEqual([
      [isoOf(T0), 1],
      [isoOf(T0 + MINUTE), 1],
      [isoOf(T0 + 2 * MINUTE), 2],
    ])
    expect(sink.deadLetters.map((d) => [d.reason, d.message.offset])).toEqual([['late_after_emit', late.offset]])
  })

  it('still knows what the replaced window scored after a restart before the new model scored any frame', async () => {
    const windows = new MemoryWindowStore()
    const { makeWorker, sink, bindings, models } = await setup(windows)
    await makeWorker().processBatch([frame(0, 1), frame(1, 1)])
    const wider = ['a', 'b', 'c']
    await bindVersion2({ models, bindings }, wider)
    // The new model's first batch completes no frame (c has not come), then the process restarts.
    const waiting = msg('dev-1', { timestamp: T0 + 2 * MINUTE, values: { a: 1, b: 1 } })
    await makeWorker().processBatch([waiting])
    const restarted = makeWorker()
    const late = msg('dev-1', { timestamp: T0 + MINUTE, values: { a: 1, b: 1, c: 1 } })
    await restarted.processBatch([waiting, late])
    expect(sink.published.map((e) => e.event.timestamp)).toEqual([isoOf(T0), isoOf(T0 + MINUTE)])
    expect(sink.deadLetters.map((d) => [d.reason, d.message.offset])).toEqual([['late_after_emit', late.offset]])
  })
})
