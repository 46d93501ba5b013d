import { describe, expect, it } from 'vitest'
import { potThreshold, quantile } from '../../../src/model/index.js'
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
})
