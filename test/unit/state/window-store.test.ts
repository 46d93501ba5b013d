import { describe, expect, it } from 'vitest'
import { MemoryWindowStore, decodeRow, encodeRow } from '../../../src/state/window-store.js'
import { windowStoreContract } from '../../contracts/window-store.contract.js'

let counter = 0
windowStoreContract('memory', () => ({ store: new MemoryWindowStore(), entity: () => `e${++counter}` }))

describe('row codec', () => {
  it('round-trips timestamps and values exactly', () => {
    const values = Float64Array.from([0, -0.5, 1e308, Number.MIN_VALUE, 0.1 + 0.2])
    const decoded = decodeRow(encodeRow(1_700_000_000_123, values))
    expect(decoded.timestamp).toBe(1_700_000_000_123)
    expect([...decoded.row]).toEqual([...values])
  })

  it('rejects a buffer that is not whole float64s', () => {
    expect(() => decodeRow(Buffer.alloc(12))).toThrow('window row of 12 bytes')
  })
})
