import { describe, expect, it } from 'vitest'
import { WindowCorrelations } from '../../../src/model/window-correlations.js'

const rows = (columns: number[][]): Float64Array[] =>
  (columns[0] ?? []).map((_, t) => Float64Array.from(columns, (column) => column[t] as number))

describe('WindowCorrelations', () => {
  // Window of 4 scaled rows: a rises, b falls (ρ_ab = −1), c steps up (ρ_ac = 2/√5 ≈ 0.894, ρ_bc ≈ −0.894), d is
  // constant (no correlation: 0). Training: ρ_ab = 1, ρ_ac = 0.9, ρ_ad = 0.8, ρ_bc = 0, ρ_bd = 0, ρ_cd = 0.
  const variables = ['a', 'b', 'c', 'd']
  const training = Float64Array.from([1, 1, 0.9, 0.8, 1, 1, 0, 0, 0.9, 0, 1, 0, 0.8, 0, 0, 1])
  const window = rows([
    [1, 2, 3, 4],
    [4, 3, 2, 1],
    [1, 1, 2, 2],
    [2, 2, 2, 2],
  ])

  it('lists the variables whose correlation moved at least the threshold, largest change first (hand-computed)', () => {
    const correlations = new WindowCorrelations(variables, 4, training, 0.5)
    correlations.measure(window)
    expect(correlations.changedVariables(0)).toEqual(['b', 'd']) // |−1 − 1| = 2, |0 − 0.8| = 0.8; c moved 0.006
    expect(correlations.changedVariables(1)).toEqual(['a', 'c']) // 2, |−0.894 − 0| = 0.894
    expect(correlations.changedVariables(2)).toEqual(['b']) // 0.894; a moved 0.006
    expect(correlations.changedVariables(3)).toEqual(['a']) // 0.8; b and c were 0 and are 0
  })

  it('keeps at most five, ties broken by name', () => {
    const many = ['x', 'v5', 'v4', 'v3', 'v2', 'v1', 'v0']
    const d = many.length
    // x rises; every other variable falls the same way (ρ = −1 with x), each trained at ρ = 1 with x.
    const columns = many.map((_, k) => (k === 0 ? [1, 2, 3, 4, 5] : [5, 4, 3, 2, 1]))
    const trained = Float64Array.from({ length: d * d }, (_, i) => (i < d || i % d === 0 ? 1 : 0))
    const correlations = new WindowCorrelations(many, 5, trained, 0.5)
    correlations.measure(rows(columns))
    expect(correlations.changedVariables(0)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4'])
  })

  it('stays right when a larger model grows the scratch they share', () => {
    const small = new WindowCorrelations(variables, 4, training, 0.5)
    const scratch = small.scratchRows()
    scratch.forEach((row, t) => row.set(window[t] as Float64Array))
    small.measure(scratch)
    expect(small.changedVariables(1)).toEqual(['a', 'c'])
    // 30 variables × 500 rows: more than the scratch held, so it is replaced and both remake their views.
    const names = Array.from({ length: 30 }, (_, k) => `w${k}`)
    const big = new WindowCorrelations(names, 500, new Float64Array(900), 0.5)
    const bigRows = big.scratchRows()
    bigRows.forEach((row, t) => row.fill(t % 7)) // every column the same: ρ = 1 against a trained 0
    big.measure(bigRows)
    small.measure(window)
    expect(small.changedVariables(1)).toEqual(['a', 'c'])
    expect(small.changedVariables(0)).toEqual(['b', 'd'])
    const changed = big.changedVariables(0)
    expect(changed).toHaveLength(5)
    expect(changed).not.toContain('w0')
  })
})
