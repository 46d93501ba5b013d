/**
 * A model state written by an earlier build must keep loading and scoring to the same values. The fixture was made
 * once by `makeGolden()` below (3 variables, window 28, seeded data); regenerate it only for a new state version.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createScorer, fitModel, loadModelState } from '../../../src/model/index.js'
import { syntheticSeries } from './synthetic.js'

const FIXTURE = new URL('../../fixtures/model/golden-state.json', import.meta.url)

interface Golden {
  state: unknown
  window: number[][]
  expected: { score: number; isAnomaly: boolean; severity: number; top: string[] }
}

export function makeGolden(): Golden {
  const { state } = fitModel(syntheticSeries(300, 3, 11), { slidingWindow: 28 })
  const window = syntheticSeries(28, 3, 12).rows.map((row) => [...row])
  ;(window[27] as number[])[1] = 9
  const value = createScorer(state).scoreLast(
    window.map((row) => Float64Array.from(row)),
    3,
  )
  return {
    state,
    window,
    expected: {
      score: value.score,
      isAnomaly: value.isAnomaly,
      severity: value.severity,
      top: value.interpretation.map((c) => c.variable),
    },
  }
}

describe('golden model state', () => {
  it('loads and scores its stored window to the stored values', () => {
    const golden = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Golden
    const scorer = createScorer(loadModelState(golden.state))
    const value = scorer.scoreLast(
      golden.window.map((row) => Float64Array.from(row)),
      3,
    )
    expect(Math.abs(value.score - golden.expected.score)).toBeLessThanOrEqual(1e-12)
    expect(Math.abs(value.severity - golden.expected.severity)).toBeLessThanOrEqual(1e-12)
    expect(value.isAnomaly).toBe(golden.expected.isAnomaly)
    expect(value.interpretation.map((c) => c.variable)).toEqual(golden.expected.top)
    expect(golden.expected.isAnomaly).toBe(true)
  })
})
