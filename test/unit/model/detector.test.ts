import { describe, expect, it } from 'vitest'
import { rowVolatility } from '../../../src/model/detector.js'

describe('rowVolatility', () => {
  const rows = [
    [0, 5, 1],
    [1, 5, 1],
    [3, 5, 2],
    [6, 5, 0],
  ].map((row) => Float64Array.from(row))

  it('is the RMS of the last changes in units of ζ, per variable, and returns the largest', () => {
    const out = new Float64Array(3)
    // Variable 0, last 2 changes: 3 − 1 = 2 and 6 − 3 = 3 → √((4 + 9) / 2) = √6.5, over ζ 0.5.
    // Variable 1 never moves → 0. Variable 2: changes 1 and −2 → √(5 / 2), over ζ 1.
    const largest = rowVolatility(rows, 3, 2, Float64Array.from([0.5, 1, 1]), out)
    expect(out[0]).toBeCloseTo(Math.sqrt(6.5) / 0.5, 12)
    expect(out[1]).toBe(0)
    expect(out[2]).toBeCloseTo(Math.sqrt(2.5), 12)
    expect(largest).toBe(out[0])
  })

  it('leaves out variables whose unit is 0 (two-state or constant channels)', () => {
    const out = new Float64Array(3)
    const largest = rowVolatility(rows, 3, 3, Float64Array.from([0, 1, 1]), out)
    expect(out[0]).toBe(0)
    expect(out[2]).toBeCloseTo(Math.sqrt((0 + 1 + 4) / 3), 12)
    expect(largest).toBe(out[2])
  })
})
