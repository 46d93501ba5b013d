/** One contract for every WindowStore implementation (memory and Redis). */
import { describe, expect, it } from 'vitest'
import type { WindowStore } from '../../src/state/window-store.js'

export function windowStoreContract(name: string, makeStore: () => { store: WindowStore; entity: () => string }): void {
  describe(`WindowStore contract: ${name}`, () => {
    const row = (...values: number[]): Float64Array => Float64Array.from(values)

    it('returns undefined for an unknown entity', async () => {
      const { store, entity } = makeStore()
      expect(await store.load(entity())).toBeUndefined()
    })

    it('appends, trims to capacity, keeps order, offset, model key and exact values', async () => {
      const { store, entity } = makeStore()
      const e = entity()
      const first = await store.append(e, 3, {
        modelKey: 'm@1',
        expectedCoveredOffset: -1n,
        replace: true,
        timestamps: [1, 2],
        rows: [row(0.1, -2), row(Math.PI, 1e-300)],
        coveredOffset: 10n,
        pendingEvents: [],
      })
      expect(first).toEqual({ ok: true })
      await store.append(e, 3, {
        modelKey: 'm@1',
        expectedCoveredOffset: 10n,
        replace: false,
        timestamps: [3, 4],
        rows: [row(3, 3), row(4, 4)],
        coveredOffset: 12n,
        pendingEvents: ['{"eventId":"a"}'],
      })
      const window = await store.load(e)
      expect(window?.timestamps).toEqual([2, 3, 4])
      expect(window?.rows.map((r) => [...r])).toEqual([
        [Math.PI, 1e-300],
        [3, 3],
        [4, 4],
      ])
      expect(window?.coveredOffset).toBe(12n)
      expect(window?.modelKey).toBe('m@1')
      expect(window?.pendingEvents).toEqual(['{"eventId":"a"}'])
    })

    it('takes a large batch in one append: 12,000 rows and 12,000 pending events (an incident backlog)', async () => {
      const { store, entity } = makeStore()
      const e = entity()
      const n = 12_000
      const result = await store.append(e, 500, {
        modelKey: 'm@1',
        expectedCoveredOffset: -1n,
        replace: true,
        timestamps: Array.from({ length: n }, (_, i) => i),
        rows: Array.from({ length: n }, (_, i) => row(i, -i)),
        coveredOffset: 99n,
        pendingEvents: Array.from({ length: n }, (_, i) => `{"eventId":"e${i}"}`),
      })
      expect(result).toEqual({ ok: true })
      const window = await store.load(e)
      expect(window?.rows).toHaveLength(500)
      expect([...(window?.rows[0] ?? [])]).toEqual([n - 500, -(n - 500)])
      expect(window?.pendingEvents).toHaveLength(n)
      expect(window?.pendingEvents[0]).toBe('{"eventId":"e0"}')
      expect(window?.pendingEvents[n - 1]).toBe(`{"eventId":"e${n - 1}"}`)
    })

    it('refuses an append based on a stale covered offset and reports the current one', async () => {
      const { store, entity } = makeStore()
      const e = entity()
      const base = { modelKey: 'm@1', replace: false, timestamps: [1], rows: [row(1)], pendingEvents: [] }
      expect(await store.append(e, 5, { ...base, expectedCoveredOffset: -1n, coveredOffset: 5n })).toEqual({ ok: true })
      expect(await store.append(e, 5, { ...base, expectedCoveredOffset: -1n, coveredOffset: 6n })).toEqual({
        ok: false,
        currentCoveredOffset: 5n,
      })
      expect((await store.load(e))?.rows).toHaveLength(1)
    })

    it('replaces rows when asked (new model / warm start)', async () => {
      const { store, entity } = makeStore()
      const e = entity()
      const base = { modelKey: 'm@1', pendingEvents: [] }
      await store.append(e, 5, {
        ...base,
        expectedCoveredOffset: -1n,
        replace: false,
        timestamps: [1, 2],
        rows: [row(1), row(2)],
        coveredOffset: 1n,
      })
      await store.append(e, 5, {
        ...base,
        modelKey: 'm@2',
        expectedCoveredOffset: 1n,
        replace: true,
        timestamps: [9],
        rows: [row(9)],
        coveredOffset: 2n,
      })
      const window = await store.load(e)
      expect(window?.timestamps).toEqual([9])
      expect(window?.modelKey).toBe('m@2')
    })

    it('clears pending events only while the window is still at the acknowledged offset', async () => {
      const { store, entity } = makeStore()
      const e = entity()
      const base = { modelKey: 'm@1', replace: false, timestamps: [1], rows: [row(1)] }
      await store.append(e, 5, { ...base, expectedCoveredOffset: -1n, coveredOffset: 1n, pendingEvents: ['x'] })
      await store.append(e, 5, {
        ...base,
        timestamps: [2],
        expectedCoveredOffset: 1n,
        coveredOffset: 2n,
        pendingEvents: ['y'],
      })
      await store.clearPendingEvents([{ entity: e, coveredOffset: 1n }])
      expect((await store.load(e))?.pendingEvents).toEqual(['y'])
      await store.clearPendingEvents([{ entity: e, coveredOffset: 2n }])
      expect((await store.load(e))?.pendingEvents).toEqual([])
    })

    it('deletes a window', async () => {
      const { store, entity } = makeStore()
      const e = entity()
      await store.append(e, 5, {
        modelKey: 'm',
        expectedCoveredOffset: -1n,
        replace: true,
        timestamps: [1],
        rows: [row(1)],
        coveredOffset: 0n,
        pendingEvents: [],
      })
      await store.delete(e)
      expect(await store.load(e)).toBeUndefined()
    })

    it('keeps the input progress of each partition of each scope', async () => {
      const { store, entity } = makeStore()
      const scope = `group-${entity()}/readings`
      expect(await store.loadProgress(scope, 0)).toBeUndefined()
      await store.saveProgress(scope, 0, 41n)
      await store.saveProgress(scope, 1, 7n)
      await store.saveProgress(`${scope}-other`, 0, 3n)
      await store.saveProgress(scope, 0, 9_007_199_254_740_993n) // beyond a double's exact integers
      expect(await store.loadProgress(scope, 0)).toBe(9_007_199_254_740_993n)
      expect(await store.loadProgress(scope, 1)).toBe(7n)
      expect(await store.loadProgress(`${scope}-other`, 0)).toBe(3n)
    })

    it('does not share row buffers with the caller', async () => {
      const { store, entity } = makeStore()
      const e = entity()
      const input = row(1, 2)
      await store.append(e, 5, {
        modelKey: 'm',
        expectedCoveredOffset: -1n,
        replace: true,
        timestamps: [1],
        rows: [input],
        coveredOffset: 0n,
        pendingEvents: [],
      })
      input[0] = 99
      const loaded = await store.load(e)
      expect(loaded?.rows[0]?.[0]).toBe(1)
    })
  })
}
