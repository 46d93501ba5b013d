import { afterEach, describe, expect, it } from 'vitest'
import type { AnomalyEvent } from '../../src/stream/anomaly-event.js'
import { createHarness, type Harness } from '../support/stream-harness.js'
import { windowMeanModel } from '../support/window-mean-model.js'

const T0 = Date.UTC(2024, 0, 1)
const MINUTE = 60_000
const VARIABLES = ['a', 'b']

/**
 * Waits until the two instances own the readings partitions between them, each once, the second some of them. Each
 * instance learns its share from its own GROUP_JOIN: the second's has fired when its start returns, the first's
 * (a rejoin on its next heartbeat) may come a little later. Fails at the deadline saying who owns what.
 */
async function waitForSplit(
  first: { assignedPartitions: readonly number[] },
  second: { assignedPartitions: readonly number[] },
  partitions: number[],
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  const split = () =>
    second.assignedPartitions.length > 0 &&
    JSON.stringify([...first.assignedPartitions, ...second.assignedPartitions].sort((a, b) => a - b)) ===
      JSON.stringify(partitions)
  while (!split()) {
    if (Date.now() > deadline) {
      throw new Error(
        `partitions ${partitions.join(', ')} were not split between the two instances within ${timeoutMs} ms: ` +
          `first owns [${first.assignedPartitions.join(', ')}], second [${second.assignedPartitions.join(', ')}]`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe('scale-out: two instances in one consumer group', () => {
  let harness: Harness | undefined
  afterEach(async () => {
    await harness?.close()
    harness = undefined
  })

  it('a second instance takes over partitions mid-stream: no frame missed, none scored twice differently', async () => {
    const h = (harness = await createHarness('rebalance', windowMeanModel, 4))
    await h.models.registerReady('m', JSON.stringify({ variables: VARIABLES, slidingWindow: 8, threshold: 3 }), {
      variables: VARIABLES,
      slidingWindow: 8,
    })
    const entities = Array.from({ length: 8 }, (_, i) => `dev-${i}`)
    for (const entity of entities) await h.bindings.set(entity, { modelId: 'm' })
    const scores = await h.collect(h.topics.scores)
    // A deterministic, entity-specific signal with occasional spikes.
    const value = (e: number, i: number) => Math.sin(i / 3 + e) * 2 + (i % 17 === 5 ? 9 : 0)
    const frames = (from: number, to: number) =>
      entities.flatMap((entity, e) =>
        Array.from({ length: to - from }, (_, k) => ({
          key: entity,
          value: JSON.stringify({ timestamp: T0 + (from + k) * MINUTE, values: { a: value(e, from + k), b: e } }),
        })),
      )
    const total = 120

    const first = await h.startService()
    expect(first.assignedPartitions).toEqual([0, 1, 2, 3])
    await h.produce(frames(0, 40))
    await scores.waitFor(entities.length * 20) // A is mid-stream
    const joining = h.startService() // joins the group: rebalance while frames keep arriving
    await h.produce(frames(40, 80))
    const second = await joining
    await h.produce(frames(80, total))
    // The partitions were split between the two instances.
    await waitForSplit(first, second, [0, 1, 2, 3])
    await scores.waitFor(entities.length * total, 90_000)
    await new Promise((resolve) => setTimeout(resolve, 1_000)) // let any duplicate arrive too

    const byId = new Map<string, AnomalyEvent[]>()
    for (const message of scores.messages) {
      const event = JSON.parse(message.value.toString()) as AnomalyEvent
      byId.set(event.eventId, [...(byId.get(event.eventId) ?? []), event])
    }
    // Every frame of every entity is present…
    expect(byId.size).toBe(entities.length * total)
    for (const copies of byId.values()) {
      // …and any duplicate (a redelivery after the rebalance) carries exactly the same result.
      for (const copy of copies) expect(copy).toEqual(copies[0])
    }
    // Scores equal a single-process replay of each entity's frames from the same (zero) warm start.
    const model = windowMeanModel(JSON.stringify({ variables: VARIABLES, slidingWindow: 8, threshold: 3 }), {
      modelId: 'm',
      version: 1,
    })
    for (const [e, entity] of entities.entries()) {
      const rows = [
        ...Array.from({ length: 7 }, () => Float64Array.from([0, 0])),
        ...Array.from({ length: total }, (_, i) => Float64Array.from([value(e, i), e])),
      ]
      const mine = [...byId.values()]
        .map((copies) => copies[0] as AnomalyEvent)
        .filter((event) => event.entity === entity)
        .sort((x, y) => Date.parse(x.timestamp) - Date.parse(y.timestamp))
      expect(mine.map((event) => event.score)).toEqual(
        rows.slice(7).map((_, i) => model.scoreLast(rows.slice(i, i + 8), 10).score),
      )
    }
  })
  it('an instance that hands partitions over unloads the models only their entities used', async () => {
    const h = (harness = await createHarness('rebalance-unload', windowMeanModel, 4))
    const entities = Array.from({ length: 8 }, (_, i) => `dev-${i}`)
    for (const entity of entities) {
      // One model per entity, so what an instance keeps loaded says which entities it still serves.
      await h.models.registerReady(
        `m-${entity}`,
        JSON.stringify({ variables: VARIABLES, slidingWindow: 8, threshold: 3 }),
        { variables: VARIABLES, slidingWindow: 8 },
      )
      await h.bindings.set(entity, { modelId: `m-${entity}` })
    }
    const scores = await h.collect(h.topics.scores)
    const frames = (from: number, to: number) =>
      entities.flatMap((entity) =>
        Array.from({ length: to - from }, (_, k) => ({
          key: entity,
          value: JSON.stringify({ timestamp: T0 + (from + k) * MINUTE, values: { a: from + k, b: 1 } }),
        })),
      )
    const first = await h.startService()
    await h.produce(frames(0, 3))
    await scores.waitFor(entities.length * 3)
    expect(first.loadedModelCount).toBe(entities.length)
    // The scores topic has the readings' partitions and keys: an entity's scores are on its readings' partition.
    const partitionOf = new Map(scores.messages.map((m) => [m.key, m.partition]))
    const second = await h.startService()
    await waitForSplit(first, second, [0, 1, 2, 3])
    const kept = entities.filter((e) => first.assignedPartitions.includes(partitionOf.get(e) ?? -1))
    expect(kept.length).toBeLessThan(entities.length)
    expect(first.loadedModelCount).toBe(kept.length)
    // The entities that moved are scored by the second instance, which loads their models.
    await h.produce(frames(3, 4))
    await scores.waitFor(entities.length * 4)
    expect(second.loadedModelCount).toBe(entities.length - kept.length)
  }, 60_000)
})
