import { describe, expect, it } from 'vitest'
import { STILLNESS_CAP, rowChanges } from '../../../src/model/detector.js'

describe('rowChanges', () => {
  const rows = [
    [0, 5, 1],
    [1, 5, 1],
    [3, 5, 2],
    [6, 5, 0],
  ].map((row) => Float64Array.from(row))
  const volatility = new Float64Array(3)
  const stillness = new Float64Array(3)
  const largest = new Float64Array(2)

  it('gives each variable its RMS change in units of ζ (volatility) and λ over it (stillness), and the largest', () => {
    // Last 2 changes. Variable 0: 2 and 3 → ρ = √6.5. Variable 1 never moves → ρ = 0. Variable 2: 1 and −2 → √2.5.
    const units = { high: Float64Array.from([0.5, 1, 1]), low: Float64Array.from([0.1, 0.1, 0.2]) }
    rowChanges(rows, 3, 2, units, volatility, stillness, largest)
    expect(volatility[0]).toBeCloseTo(Math.sqrt(6.5) / 0.5, 12)
    expect(volatility[1]).toBe(0)
    expect(volatility[2]).toBeCloseTo(Math.sqrt(2.5), 12)
    expect(stillness[0]).toBeCloseTo(0.1 / Math.sqrt(6.5), 12)
    expect(stillness[1]).toBe(STILLNESS_CAP) // stopped dead: as still as it gets, not a division by zero
    expect(stillness[2]).toBeCloseTo(0.2 / Math.sqrt(2.5), 12)
    expect([...largest]).toEqual([volatility[0], STILLNESS_CAP])
  })

  it('leaves out variables whose unit is 0 (two-state channels, constant or sometimes-still variables)', () => {
    const units = { high: Float64Array.from([0, 1, 1]), low: Float64Array.from([0.1, 0, 0]) }
    rowChanges(rows, 3, 3, units, volatility, stillness, largest)
    expect(volatility[0]).toBe(0)
    expect(volatility[2]).toBeCloseTo(Math.sqrt((0 + 1 + 4) / 3), 12)
    expect(stillness[1]).toBe(0)
    expect(stillness[0]).toBeCloseTo(0.1 / Math.sqrt((1 + 4 + 9) / 3), 12)
    expect([...largest]).toEqual([volatility[2], stillness[0]])
  })
})
