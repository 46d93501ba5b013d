import { describe, expect, it } from 'vitest'
import { volatilityUnits } from '../../../src/model/calibration.js'
import { seededRandom } from './synthetic.js'

describe('volatilityUnits', () => {
  const random = seededRandom(5)
  // v0 moves by ±1 every row, v1 is constant, v2 a flag (a two-state channel), v3 barely moves.
  const scaled = Array.from({ length: 2000 }, (_, t) =>
    Float64Array.from([t % 2, 3, Math.floor(t / 50) % 2, 1e-4 * random()]),
  )
  const slots = Int32Array.from([-1, -1, 0, -1])

  it('is the 99.9th percentile of each continuous variable’s volatility, floored, and 0 for channels left out', () => {
    const units = volatilityUnits(scaled, 10, slots)
    expect(units[0]).toBeCloseTo(1, 12) // every change is ±1: RMS 1 in every window
    expect(units[1]).toBe(0) // did not move in training
    expect(units[2]).toBe(0) // two-state channel: scored by its transitions
    expect(units[3]).toBe(0.05) // moved, but far less than the floor
  })

  it('is empty without a volatility part', () => {
    expect(volatilityUnits(scaled, 0, slots)).toHaveLength(0)
  })
})
