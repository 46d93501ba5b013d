/**
 * A model state written by an earlier build must keep loading and scoring to the same values. Each fixture was made
 * once by `makeGolden()` below (3 variables, window 28, seeded data) with the build of its state version:
 * golden-state.json is version 1 (loaded through the 1 → 2 → 3 migrations), golden-state-v2.json version 2 and
 * golden-state-v3.json version 3, whose data has a fourth variable, a flag (two-state channels are new in version 3),
 * golden-state-v4.json version 4 (the novelty hold, params.noveltyHold; held over 9 rows at window 28) and
 * golden-state-v5.json version 5 (the volatility and stillness parts, params.volatilityWindow; 27 rows at window 28,
 * the flag left out).
 * Add a fixture for each new state version; never regenerate an old one.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createScorer, fitModel, loadModelState } from '../../../src/model/index.js'
import { syntheticSeries } from './synthetic.js'
import type { AlignedSeries } from '../../../src/domain/types.js'

const FIXTURES = {
  1: new URL('../../fixtures/model/golden-state.json', import.meta.url),
  2: new URL('../../fixtures/model/golden-state-v2.json', import.meta.url),
  3: new URL('../../fixtures/model/golden-state-v3.json', import.meta.url),
  4: new URL('../../fixtures/model/golden-state-v4.json', import.meta.url),
  5: new URL('../../fixtures/model/golden-state-v5.json', import.meta.url),
}

interface Golden {
  state: unknown
  window: number[][]
  expected: { score: number; isAnomaly: boolean; severity: number; top: string[] }
}

/** Appends a flag that toggles every 30 rows (version 3 on). */
function withFlag(series: AlignedSeries): AlignedSeries {
  return {
    ...series,
    variables: [...series.variables, 'flag'],
    rows: series.rows.map((row, t) => Float64Array.from([...row, Math.floor(t / 30) % 2])),
  }
}

export function makeGolden(version: number): Golden {
  const flagged = version >= 3 ? withFlag : (series: AlignedSeries): AlignedSeries => series
  const { state } = fitModel(flagged(syntheticSeries(300, 3, 11)), { slidingWindow: 28 })
  const window = flagged(syntheticSeries(28, 3, 12)).rows.map((row) => [...row])
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
  it.each([1, 2, 3, 4, 5] as const)('version %i loads and scores its stored window to the stored values', (version) => {
    const golden = JSON.parse(readFileSync(FIXTURES[version], 'utf8')) as Golden
    expect((golden.state as { version: number }).version).toBe(version)
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
