/** One contract for every ResultStore implementation (memory and Redis). */
import { describe, expect, it } from 'vitest'
import type { BatchResultRecord, ResultStore } from '../../src/state/result-store.js'

export function resultStoreContract(
  name: string,
  makeStore: () => { store: ResultStore; resultId: () => string; wait: (ms: number) => Promise<void> },
): void {
  describe(`ResultStore contract: ${name}`, () => {
    const record = (resultId: string, status: 'RUNNING' | 'READY'): BatchResultRecord => ({
      resultId,
      modelId: 'm',
      modelVersion: 1,
      summary: {
        status,
        errors: [],
        variableStates: [],
        setupInfo: { dataSource: 'x.csv', topContributorCount: 10, startTime: 'a', endTime: 'b' },
      },
      results: status === 'READY' ? [{ timestamp: 'a', errors: [] }] : [],
    })

    it('stores, replaces and returns results; unknown ids are undefined', async () => {
      const { store, resultId } = makeStore()
      const id = resultId()
      await store.put(record(id, 'RUNNING'), 60)
      expect((await store.get(id))?.summary.status).toBe('RUNNING')
      await store.put(record(id, 'READY'), 60)
      expect(await store.get(id)).toEqual(record(id, 'READY'))
      expect(await store.get(resultId())).toBeUndefined()
    })

    it('forgets results after their time to live', async () => {
      const { store, resultId, wait } = makeStore()
      const id = resultId()
      await store.put(record(id, 'READY'), 1)
      expect(await store.get(id)).toBeDefined()
      await wait(1_100)
      expect(await store.get(id)).toBeUndefined()
    })
  })
}
