import { describe, expect, it } from 'vitest'
import { combineWithUnivariate, fitUnivariate, univariateFlags } from '../../../src/model/index.js'

const training = Array.from({ length: 101 }, (_, t) => [t, 50]) // a: 0…100, b: constant 50

describe('univariate detectors', () => {
  it('quantile: flags values outside the training quantiles', () => {
    const state = fitUnivariate(['a', 'b'], training, { method: 'quantile', tail: 0.01 })
    expect(state.low[0]).toBeCloseTo(1, 12)
    expect(state.high[0]).toBeCloseTo(99, 12)
    expect(univariateFlags(state, [[50, 50]])).toEqual([])
    expect(univariateFlags(state, [[100, 51]])).toEqual(['a', 'b'])
  })

  it('iqr: flags values beyond Q1 − k·IQR and Q3 + k·IQR', () => {
    const state = fitUnivariate(['a', 'b'], training, { method: 'iqr', k: 1 })
    // Q1 = 25, Q3 = 75, IQR = 50 → [−25, 125].
    expect(state.low[0]).toBe(-25)
    expect(state.high[0]).toBe(125)
    expect(univariateFlags(state, [[124, 50]])).toEqual([])
    expect(univariateFlags(state, [[126, 50]])).toEqual(['a'])
  })

  it('persist: flags a jump away from the recent level', () => {
    const state = fitUnivariate(['a', 'b'], training, { method: 'persist', k: 6, persistWindow: 5 })
    expect(state.step[0]).toBe(1) // median absolute step of 0,1,2,…
    const window = [
      [10, 50],
      [11, 50],
      [12, 50],
      [13, 50],
      [14, 50],
    ]
    expect(univariateFlags(state, [...window, [15, 50]])).toEqual([])
    expect(univariateFlags(state, [...window, [40, 50]])).toEqual(['a'])
  })

  it('combines with a multivariate result: either flag makes the row anomalous; contributions still sum to 1', () => {
    const normal = { isAnomaly: false, score: 0.4, severity: 0, interpretation: [] }
    const combined = combineWithUnivariate(normal, ['a'])
    expect(combined.isAnomaly).toBe(true)
    expect(combined.severity).toBeGreaterThan(0)
    expect(combined.interpretation.map((c) => c.variable)).toEqual(['a'])
    const anomalous = {
      isAnomaly: true,
      score: 1.5,
      severity: 0.5,
      interpretation: [{ variable: 'b', contributionScore: 1, correlationChanges: { changedVariables: [] } }],
    }
    const both = combineWithUnivariate(anomalous, ['a', 'b'])
    expect(both.interpretation.map((c) => c.variable)).toEqual(['b', 'a'])
    expect(both.interpretation.reduce((s, c) => s + c.contributionScore, 0)).toBeCloseTo(1, 12)
    expect(combineWithUnivariate(anomalous, [])).toBe(anomalous)
  })
})
