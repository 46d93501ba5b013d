import { describe, expect, it } from 'vitest'
import { loadWindowSource } from '../../../src/control/window-source.js'
import { MemoryBindingStore } from '../../../src/state/binding-store.js'
import { MemoryModelStore } from '../../../src/state/model-store.js'
import { MemoryWindowStore } from '../../../src/state/window-store.js'
import { layoutKeyOf } from '../../../src/stream/model-runtime.js'

const T0 = Date.UTC(2024, 0, 1)
const MINUTE = 60_000

async function setup() {
  const windows = new MemoryWindowStore()
  const bindings = new MemoryBindingStore()
  const models = new MemoryModelStore()
  await models.registerReady('m', '{}', { variables: ['a', 'b', 'c'], slidingWindow: 28 })
  await bindings.set('e1', { modelId: 'm' })
  // Two warm-start rows (no timestamps) then three streamed rows.
  const timestamps = [-Infinity, -Infinity, T0, T0 + MINUTE, T0 + 2 * MINUTE]
  const rows = timestamps.map((_, i) => Float64Array.from([i, 10 + i, 20 + i]))
  await windows.append('e1', 10, {
    modelKey: layoutKeyOf(['a', 'b', 'c']),
    expectedCoveredOffset: -1n,
    replace: true,
    timestamps,
    rows,
    coveredOffset: 4n,
    pendingEvents: [],
  })
  return { windows, bindings, models }
}

describe('window source (the windows history in Redis)', () => {
  it('reads the streamed rows of an entity, named by its model, without the warm-start rows', async () => {
    const deps = await setup()
    const { series, dataSource } = await loadWindowSource('e1', { exactVariables: false }, deps)
    expect(dataSource).toBe('redis-window://e1')
    expect(series.variables).toEqual(['a', 'b', 'c'])
    expect(series.timestamps).toEqual([T0, T0 + MINUTE, T0 + 2 * MINUTE])
    expect(series.rows.map((r) => [...r])).toEqual([
      [2, 12, 22],
      [3, 13, 23],
      [4, 14, 24],
    ])
    expect(series.variableStates[0]).toEqual({
      variable: 'a',
      filledNARatio: 0,
      effectiveCount: 3,
      firstTimestamp: T0,
      lastTimestamp: T0 + 2 * MINUTE,
    })
  })

  it('keeps a subset of variables and a time range', async () => {
    const deps = await setup()
    const { series } = await loadWindowSource(
      'e1',
      { variables: ['c', 'a'], exactVariables: false, range: { startTime: T0 + MINUTE } },
      deps,
    )
    expect(series.variables).toEqual(['c', 'a'])
    expect(series.rows.map((r) => [...r])).toEqual([
      [23, 3],
      [24, 4],
    ])
  })

  it('answers with clear codes: no window, unknown variable, model with another layout', async () => {
    const deps = await setup()
    await expect(loadWindowSource('nobody', { exactVariables: false }, deps)).rejects.toMatchObject({
      code: 'NoData',
    })
    await expect(loadWindowSource('e1', { variables: ['z'], exactVariables: false }, deps)).rejects.toMatchObject({
      code: 'ColumnNotFound',
    })
    await deps.models.registerReady('m', '{}', { variables: ['a', 'b'], slidingWindow: 28 })
    await expect(loadWindowSource('e1', { exactVariables: false }, deps)).rejects.toMatchObject({
      code: 'InvalidRequestParameterError',
      message: expect.stringContaining('now has other variables') as unknown,
    })
  })
})
