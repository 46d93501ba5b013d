import { describe, expect, it } from 'vitest'
import { ERROR_CAP, type DetectorWeights } from '../../../src/model/detector.js'
import { discreteLookup } from '../../../src/model/discrete.js'
import { trainingErrors, withErrorScale } from '../../../src/model/training-errors.js'

/** Two variables, one lag, no principal directions: the error is ½a² + ½q² with a = forecast residual, q = z − 0. */
const weights = (errorScale: number[]): DetectorWeights => ({
  d: 2,
  lags: 1,
  center: Float64Array.from([0, 0]),
  scale: Float64Array.from([1, 1]),
  // rows: lag-1 feature of variable 0, of variable 1, bias; column j forecasts variable j: ẑ_j = 0.5 z_{t−1,j}.
  forecast: Float64Array.from([0.5, 0, 0, 0.5, 0, 0]),
  residualScale: Float64Array.from([1, 1]),
  pcaMean: Float64Array.from([0, 0]),
  pcaBasis: new Float64Array(0),
  pcaRank: 0,
  reconScale: Float64Array.from([1, 1]),
  errorScale: Float64Array.from(errorScale),
  discrete: discreteLookup([], 2),
})

describe('withErrorScale', () => {
  const scaled = [
    [0, 0],
    [1, 2],
    [25, 1],
    [2, 3],
  ].map((row) => Float64Array.from(row))
  const inflation = Float64Array.from([1, 1.2, 1, 1.5])

  it('gives what a fresh pass with η gives, rows capped at η = 1 included (hand-computed)', () => {
    const unscaled = trainingErrors(weights([1, 1]), scaled, inflation)
    // Row 1, variable 1: a = 1.2 × (2 − 0) = 2.4, q = 2 → ½·5.76 + ½·4 = 4.88.
    expect(unscaled[1]?.[1]).toBeCloseTo(4.88, 12)
    // Row 2, variable 0: a = 25 − 0.5 = 24.5, q = 25 → 300.125 + 312.5 = 612.625, capped at 400.
    expect(unscaled[2]?.[0]).toBe(ERROR_CAP)
    const withEta = weights([2, 4])
    const derived = withErrorScale(withEta, scaled, inflation, unscaled)
    expect(derived).toEqual(trainingErrors(withEta, scaled, inflation))
    // Over η = 2 the capped row falls under the cap: 612.625 / 2, not 400 / 2.
    expect(derived[2]?.[0]).toBeCloseTo(306.3125, 12)
    expect(derived[1]?.[1]).toBeCloseTo(4.88 / 4, 12)
    expect([...(derived[0] ?? [])]).toEqual([0, 0]) // the first `lags` rows have no forecast
  })
})
