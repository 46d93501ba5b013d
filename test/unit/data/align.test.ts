import { describe, expect, it } from 'vitest'
import { alignForModel, alignTable, assertEnoughInput, fillColumn } from '../../../src/data/index.js'
import type { RawTable } from '../../../src/data/index.js'
import type { ServiceError } from '../../../src/errors.js'

const N = Number.NaN
const MIN = 60_000

/** Multi-table-like input; `null` in values = a row whose cell is empty. */
function table(vars: Record<string, [number, number | null][]>, schema: RawTable['schema'] = 'MultiTable'): RawTable {
  return {
    schema,
    source: 'src',
    variables: Object.entries(vars)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([variable, pts]) => ({
        variable,
        timestamps: Float64Array.from(pts.map(([t]) => t * MIN)),
        values: Float64Array.from(pts.map(([, v]) => v ?? N)),
      })),
  }
}

function cols(s: { rows: readonly Float64Array[] }): number[][] {
  const width = s.rows[0]?.length ?? 0
  return Array.from({ length: width }, (_, j) => s.rows.map((r) => r[j]!))
}

function thrown(fn: () => unknown): ServiceError {
  try {
    fn()
  } catch (err) {
    return err as ServiceError
  }
  throw new Error('expected an error')
}

describe('fillColumn', () => {
  const ts = [0, 1, 2, 3, 4, 5]
  const col = () => Float64Array.from([N, 2, N, N, 8, N])
  it.each([
    ['Previous', [2, 2, 2, 2, 8, 8]],
    ['Subsequent', [2, 2, 8, 8, 8, 8]],
    ['Linear', [2, 2, 4, 6, 8, 8]],
    ['Zero', [0, 2, 0, 0, 8, 0]],
  ] as const)('%s', (method, expected) => {
    expect(Array.from(fillColumn(col(), ts, method))).toEqual(expected)
  })
  it('Fixed uses paddingValue', () => {
    expect(Array.from(fillColumn(col(), ts, 'Fixed', -1))).toEqual([-1, 2, -1, -1, 8, -1])
  })
  it('Linear interpolates by time on an irregular grid', () => {
    expect(Array.from(fillColumn(Float64Array.from([0, N, 10]), [0, 1, 5], 'Linear'))).toEqual([0, 2, 10])
  })
  it('an all-missing column becomes 0 whatever the method', () => {
    for (const m of ['Previous', 'Subsequent', 'Linear'] as const) {
      expect(Array.from(fillColumn(Float64Array.from([N, N]), [0, 1], m))).toEqual([0, 0])
    }
  })
})

describe('alignTable', () => {
  // a: t0=1, t2=3 ; b: t1=10, t2=20, t3=30
  const t = table({
    a: [
      [0, 1],
      [2, 3],
    ],
    b: [
      [1, 10],
      [2, 20],
      [3, 30],
    ],
  })

  it('Outer + Linear (default) takes the union and fills', () => {
    const s = alignTable(t)
    expect(s.variables).toEqual(['a', 'b'])
    expect(s.timestamps).toEqual([0, MIN, 2 * MIN, 3 * MIN])
    expect(cols(s)).toEqual([
      [1, 2, 3, 3],
      [10, 10, 20, 30],
    ])
    expect(s.variableStates).toEqual([
      { variable: 'a', filledNARatio: 0.5, effectiveCount: 2, firstTimestamp: 0, lastTimestamp: 2 * MIN },
      { variable: 'b', filledNARatio: 0.25, effectiveCount: 3, firstTimestamp: MIN, lastTimestamp: 3 * MIN },
    ])
  })

  it('Outer + Previous / Subsequent / Zero / Fixed', () => {
    expect(cols(alignTable(t, { fillNAMethod: 'Previous' }))).toEqual([
      [1, 1, 3, 3],
      [10, 10, 20, 30],
    ])
    expect(cols(alignTable(t, { fillNAMethod: 'Subsequent' }))).toEqual([
      [1, 3, 3, 3],
      [10, 10, 20, 30],
    ])
    expect(cols(alignTable(t, { fillNAMethod: 'Zero' }))).toEqual([
      [1, 0, 3, 0],
      [0, 10, 20, 30],
    ])
    expect(cols(alignTable(t, { fillNAMethod: 'Fixed', paddingValue: 7 }))).toEqual([
      [1, 7, 3, 7],
      [7, 10, 20, 30],
    ])
  })

  it('Inner keeps only timestamps where every variable has a value', () => {
    const s = alignTable(t, { alignMode: 'Inner' })
    expect(s.timestamps).toEqual([2 * MIN])
    expect(cols(s)).toEqual([[3], [20]])
    expect(s.variableStates.map((v) => v.filledNARatio)).toEqual([0, 0])
  })

  it('OneTable: empty cells are missing; Outer keeps a row that is empty everywhere', () => {
    const one = table(
      {
        a: [
          [0, 1],
          [1, null],
          [2, null],
          [3, 4],
        ],
        b: [
          [0, 5],
          [1, 6],
          [2, null],
          [3, 8],
        ],
      },
      'OneTable',
    )
    const shared = one.variables[0]!.timestamps
    one.variables[1]!.timestamps = shared
    const s = alignTable(one)
    expect(cols(s)).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ])
    expect(s.variableStates[0]).toMatchObject({ effectiveCount: 2, filledNARatio: 0.5 })
    expect(alignTable(one, { alignMode: 'Inner' }).timestamps).toEqual([0, 3 * MIN])
  })

  // Variable a over MIN…2·MIN: missing at MIN, present at 2·MIN.
  const stateOfAInRange = {
    variable: 'a',
    filledNARatio: 0.5,
    effectiveCount: 1,
    firstTimestamp: 2 * MIN,
    lastTimestamp: 2 * MIN,
  }

  it('range filter applies after filling; variableStates describe the range', () => {
    const s = alignTable(t, {}, { range: { startTime: MIN, endTime: 2 * MIN } })
    expect(s.timestamps).toEqual([MIN, 2 * MIN])
    expect(cols(s)).toEqual([
      [2, 3],
      [10, 20],
    ])
    expect(s.variableStates[0]).toEqual(stateOfAInRange)
  })

  it('statesRange: every row kept as history, variableStates describe only the range', () => {
    const s = alignTable(t, {}, { statesRange: { startTime: MIN, endTime: 2 * MIN } })
    expect(s.timestamps).toHaveLength(alignTable(t).timestamps.length)
    expect(s.variableStates[0]).toEqual(stateOfAInRange)
    const none = alignTable(t, {}, { statesRange: { startTime: 100 * MIN } })
    expect(none.variableStates[0]).toMatchObject({ filledNARatio: 0, effectiveCount: 0, firstTimestamp: null })
  })

  it('errors: bad policy, empty range, empty Inner, too many timestamps', () => {
    expect(thrown(() => alignTable(t, { alignMode: 'Left' as 'Inner' })).code).toBe('InvalidAlignMode')
    expect(thrown(() => alignTable(t, { fillNAMethod: 'NotFill' as 'Zero' })).code).toBe('InvalidFillNAMethod')
    expect(thrown(() => alignTable(t, { fillNAMethod: 'Fixed' })).code).toBe('RequiredPaddingValue')
    // Held to the bound of values read: beyond it the variance overflows and the trained model cannot be loaded.
    expect(thrown(() => alignTable(t, { fillNAMethod: 'Fixed', paddingValue: 1e200 }))).toMatchObject({
      code: 'InvalidRequestParameterError',
      message: 'paddingValue 1e+200 is outside ±1e+100 (too large to model)',
    })
    // Unused by another method: a stored model's paddingValue must not stop it loading.
    expect(() => alignTable(t, { fillNAMethod: 'Linear', paddingValue: 1e200 })).not.toThrow()
    expect(thrown(() => alignTable(t, {}, { range: { startTime: 10 * MIN } })).code).toBe('NoData')
    expect(thrown(() => alignTable(t, {}, { range: { startTime: 2, endTime: 1 } })).code).toBe(
      'InvalidRequestParameterError',
    )
    const disjoint = table({ a: [[0, 1]], b: [[1, 1]] })
    expect(thrown(() => alignTable(disjoint, { alignMode: 'Inner' })).message).toMatch(/try Outer/)
    expect(thrown(() => alignTable(t, {}, { maxTimestamps: 3 })).code).toBe('TooManyData')
  })

  it('does not mutate its input', () => {
    const before = Array.from(t.variables[0]!.values)
    alignTable(t)
    expect(Array.from(t.variables[0]!.values)).toEqual(before)
  })
})

describe('alignForModel', () => {
  const t = table({ a: [[0, 1]], b: [[0, 2]] })
  it('orders columns as the model does', () => {
    expect(alignForModel(t, ['b', 'a']).rows[0]).toEqual(Float64Array.from([2, 1]))
  })
  it('missing and extra variables are errors named per schema', () => {
    expect(thrown(() => alignForModel(t, ['a', 'b', 'c'])).code).toBe('FileNotExist')
    expect(thrown(() => alignForModel(t, ['a'])).code).toBe('RedundantFile')
    const one = { ...t, schema: 'OneTable' as const }
    expect(thrown(() => alignForModel(one, ['a', 'b', 'c'])).code).toBe('ColumnNotFound')
    const extra = thrown(() => alignForModel(one, ['a']))
    expect(extra.code).toBe('UnknownVariable')
    expect(extra.message).toMatch(/\bb\b/)
    // A renamed variable: the one missing and the stranger are named together.
    const renamed = thrown(() => alignForModel(one, ['a', 'c']))
    expect(renamed.code).toBe('ColumnNotFound')
    expect(renamed.message).toMatch(/lacks: columns c; it has variables unknown to the model instead: b$/)
  })
  it('a variable with no value at all is NoData (filled throughout it would be a made-up constant)', () => {
    const empty = table({
      a: [
        [0, 1],
        [1, 2],
      ],
      b: [
        [0, null],
        [1, null],
      ],
    })
    const err = thrown(() => alignForModel(empty, ['a', 'b']))
    expect(err.code).toBe('NoData')
    expect(err.message).toBe(
      "src: no value at all for 'b' (every row would be filled with made-up values); give such a variable data",
    )
    const some = table({
      a: [
        [0, 1],
        [1, 2],
      ],
      b: [
        [0, null],
        [1, 5],
      ],
    })
    expect(alignForModel(some, ['a', 'b']).rows[0]).toEqual(Float64Array.from([1, 5]))
    // Values only in the history before a reported range still count (the range's states would say none).
    const early = table({
      a: [
        [0, 1],
        [1, 2],
      ],
      b: [
        [0, 7],
        [1, null],
      ],
    })
    const range = { statesRange: { startTime: MIN, endTime: MIN } }
    expect(alignForModel(early, ['a', 'b'], {}, range).rows[1]).toEqual(Float64Array.from([2, 7]))
  })
})

describe('assertEnoughInput', () => {
  it('needs one sliding window of rows', () => {
    expect(() => assertEnoughInput({ timestamps: [1, 2, 3] }, 3)).not.toThrow()
    const err = thrown(() => assertEnoughInput({ timestamps: [1, 2] }, 3, 'x.csv'))
    expect(err.code).toBe('NotEnoughInput')
    expect(err.message).toMatch(/length of data is 2.*3/)
  })
})
