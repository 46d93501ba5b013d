import { describe, expect, it } from 'vitest'
import { changeUnits } from '../../../src/model/calibration.js'
import { seededRandom } from './synthetic.js'

describe('changeUnits', () => {
  const random = seededRandom(5)
  // v0 moves by ±1 every row, v1 is constant, v2 a flag (a two-state channel), v3 barely moves, v4 moves by ±1 but
  // sits still for a stretch of 100 rows.
  const scaled = Array.from({ length: 2000 }, (_, t) =>
    Float64Array.from([t % 2, 3, Math.floor(t / 50) % 2, 1e-4 * random(), t >= 500 && t < 600 ? 0 : t % 2]),
  )
  const slots = Int32Array.from([-1, -1, 0, -1, -1])

  it('is the 99.9th (ζ) and 0.1th (λ) percentiles of each continuous variable’s RMS change, or 0 to leave it out', () => {
    const { high, low } = changeUnits(scaled, 10, slots)
    expect(high[0]).toBeCloseTo(1, 12) // every change is ±1: RMS 1 in every window
    expect(low[0]).toBeCloseTo(1, 12)
    expect(high[1]).toBe(0) // did not move in training
    expect(low[1]).toBe(0)
    expect(high[2]).toBe(0) // two-state channel: scored by its transitions
    expect(low[2]).toBe(0)
    expect(high[3]).toBe(0.05) // moved, but far less than the floor
    expect(low[3]).toBe(0) // its RMS change is under the smallest stillness unit
    expect(high[4]).toBeCloseTo(1, 12)
    expect(low[4]).toBe(0) // it sat still in training: stillness is no news for it
  })

  it('is empty without change parts', () => {
    const { high, low } = changeUnits(scaled, 0, slots)
    expect(high).toHaveLength(0)
    expect(low).toHaveLength(0)
  })
})
