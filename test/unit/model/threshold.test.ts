import { describe, expect, it } from 'vitest'
import { calibrateThreshold, potThreshold, quantile } from '../../../src/model/index.js'
import { MIN_THRESHOLD } from '../../../src/model/threshold.js'
import { topMean } from '../../../src/model/detector.js'

describe('quantile', () => {
  it('interpolates linearly between order statistics', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5)
    expect(quantile([1, 2, 3, 4], 0)).toBe(1)
    expect(quantile([1, 2, 3, 4], 1)).toBe(4)
    expect(quantile([10, 20], 0.25)).toBe(12.5)
  })
})

describe('potThreshold', () => {
  it('recovers the quantile of an exponential tail (P(X > x) = e^−x ⇒ x_q = −ln q)', () => {
    const n = 100_000
    const scores = Array.from({ length: n }, (_, i) => -Math.log(1 - (i + 0.5) / n))
    const fit = potThreshold(scores, 1e-4)
    expect(fit.method).toBe('pot')
    expect(fit.shape).toBeCloseTo(0, 1)
    expect(fit.scale).toBeCloseTo(1, 1)
    expect(fit.threshold).toBeCloseTo(-Math.log(1e-4), 0)
  })

  it('falls back to the empirical quantile when the tail is too thin to fit', () => {
    const fit = potThreshold([1, 2, 3, 4, 5], 0.2)
    expect(fit.method).toBe('quantile')
    expect(fit.threshold).toBeCloseTo(quantile([1, 2, 3, 4, 5], 0.8), 12)
  })
})

describe('topMean', () => {
  it('averages the k largest values, or all of them', () => {
    const values = Float64Array.from([3, 9, 1, 7])
    const buffer = new Float64Array(4)
    expect(topMean(values, 2, buffer)).toBe(8)
    expect(topMean(values, 0, buffer)).toBe(5)
    expect(topMean(values, 4, buffer)).toBe(5)
    expect([...values]).toEqual([3, 9, 1, 7])
  })

  it('takes the largest for k = 1 without sorting, and a NaN anywhere is not hidden', () => {
    const buffer = new Float64Array(4)
    expect(topMean(Float64Array.from([3, 9, 1, 7]), 1, buffer)).toBe(9)
    expect(topMean(Float64Array.from([-3, -9, -1, -7]), 1, buffer)).toBe(-1)
    expect(topMean(Float64Array.from([3, NaN, 1, 7]), 1, buffer)).toBeNaN()
    expect(topMean(Float64Array.from([NaN, 9, 1, 7]), 1, buffer)).toBeNaN()
    expect(topMean(Float64Array.from([3, 9, 1, NaN]), 2, buffer)).toBeNaN()
  })
})

describe('calibrateThreshold', () => {
  it('takes the empirical (1 − risk) quantile when enough scores lie above it (hand-computed)', () => {
    // 1..1000: the 0.99 quantile interpolates at position 999 × 0.99 = 989.01 → 990.01; 10 scores lie above.
    const scores = Array.from({ length: 1000 }, (_, i) => i + 1)
    const fit = calibrateThreshold(scores, 0.01)
    expect(fit.method).toBe('quantile')
    expect(fit.threshold).toBeCloseTo(990.01, 9)
    expect(fit.excesses).toBe(10)
  })

  it('is not dragged up by rare training transients, where a tail fit is', () => {
    // A bulk in [0, 1) and 0.2 % transients at 100: the quantile stays in the bulk.
    const scores = Array.from({ length: 5000 }, (_, i) => (i < 10 ? 100 : ((i * 7919) % 5000) / 5000))
    expect(calibrateThreshold(scores, 0.005).threshold).toBeLessThan(1)
    expect(potThreshold(scores, 0.001).threshold).toBeGreaterThan(1)
  })

  it('extrapolates with POT when the risk is too small for the data', () => {
    const n = 100_000
    const scores = Array.from({ length: n }, (_, i) => -Math.log(1 - (i + 0.5) / n))
    const fit = calibrateThreshold(scores, 5e-5) // 5 expected exceedances < 10
    expect(fit).toEqual(potThreshold(scores, 5e-5))
    expect(fit.method).toBe('pot')
  })

  it('does not take a quantile that ties leave with fewer than 10 scores above it', () => {
    // 2,980 scores in [0, 1) and 20 equal to 5: the 0.995 quantile is 5 with nothing above it.
    const scores = Array.from({ length: 3000 }, (_, i) => (i < 20 ? 5 : ((i * 7919) % 2980) / 2980))
    expect(
      quantile(
        [...scores].sort((a, b) => a - b),
        0.995,
      ),
    ).toBe(5)
    const fit = calibrateThreshold(scores, 0.005)
    expect(fit.method).toBe('pot')
    expect(fit).toEqual(potThreshold(scores, 0.005))
  })

  it('never gives a threshold of 0: the smallest positive training score, else MIN_THRESHOLD', () => {
    const mostlyZero = [...Array<number>(2990).fill(0), 0.5, 0.7, 3, 3, 3, 3, 3, 3, 3, 3]
    expect(calibrateThreshold(mostlyZero, 0.005).threshold).toBe(0.5)
    expect(calibrateThreshold(Array<number>(3000).fill(0), 0.005).threshold).toBe(MIN_THRESHOLD)
  })
})
