import { describe, expect, it } from 'vitest'
import { ServiceError } from '../../../src/errors.js'
import { DEFAULT_MODEL_PARAMS, noveltyHoldRows, resolveParams, volatilityRows } from '../../../src/model/params.js'

function problem(partial: Record<string, unknown>): ServiceError {
  try {
    resolveParams(partial)
  } catch (err) {
    if (err instanceof ServiceError) return err
    throw err
  }
  throw new Error('expected resolveParams to refuse')
}

describe('resolveParams', () => {
  it('fills defaults and keeps given values', () => {
    expect(resolveParams({ noveltyPrototypes: 0 })).toEqual({ ...DEFAULT_MODEL_PARAMS, noveltyPrototypes: 0 })
  })

  it('reports every problem at once, unknown names included', () => {
    const err = problem({ noveltyPrototype: 10, noveltySmoothing: 0, lags: 1.5 })
    expect(err.code).toBe('InvalidModelState')
    expect(err.message).toContain("unknown parameter 'noveltyPrototype'")
    expect(err.message).toContain('noveltySmoothing must be an integer in [1, 120], got 0')
    expect(err.message).toContain('lags must be an integer in [1, 10], got 1.5')
  })

  it('refuses a novelty span longer than the window', () => {
    expect(problem({ slidingWindow: 28, noveltySmoothing: 40 }).message).toContain(
      'noveltySmoothing (40) must not exceed slidingWindow (28)',
    )
  })

  it('caps the novelty hold so a window holds every row it reads', () => {
    expect(noveltyHoldRows(resolveParams({}))).toBe(60) // 300 − 20 + 1 = 281 ≥ 60
    expect(noveltyHoldRows(resolveParams({ slidingWindow: 28 }))).toBe(9) // 28 − 20 + 1
    expect(noveltyHoldRows(resolveParams({ slidingWindow: 28, noveltySmoothing: 28 }))).toBe(1)
    expect(noveltyHoldRows(resolveParams({ noveltyHold: 1 }))).toBe(1)
    expect(problem({ noveltyHold: 0 }).message).toContain('noveltyHold must be an integer in [1, 1440], got 0')
  })

  it('caps the volatility window so the window holds its rows, and 0 turns the part off', () => {
    expect(volatilityRows(resolveParams({}))).toBe(40)
    expect(volatilityRows(resolveParams({ slidingWindow: 28 }))).toBe(27) // 28 rows hold 27 changes
    expect(volatilityRows(resolveParams({ volatilityWindow: 0 }))).toBe(0)
    expect(problem({ volatilityWindow: -1 }).message).toContain(
      'volatilityWindow must be an integer in [0, 1440], got -1',
    )
  })
})
