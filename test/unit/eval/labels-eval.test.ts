import { describe, expect, it } from 'vitest'
import type { AnomalyState } from '../../../src/domain/types.js'
import { evaluateResults, meanFinite } from '../../../src/eval/evaluate.js'
import { hitRate } from '../../../src/eval/hit-rate.js'
import { parseInterpretationCsv, parseLabelsCsv } from '../../../src/eval/labels.js'
import { ServiceError } from '../../../src/errors.js'

const MIN = 60_000
const T0 = Date.UTC(2024, 0, 1)

describe('readers', () => {
  it('labels.csv', () => {
    const l = parseLabelsCsv('timestamp,label\n2024-01-01T00:00:00Z,0\n2024-01-01T00:01:00Z,1\n')
    expect(l.timestamps).toEqual([T0, T0 + MIN])
    expect(Array.from(l.labels)).toEqual([0, 1])
    expect(() => parseLabelsCsv('timestamp,label\n2024-01-01T00:00:00Z,2\n')).toThrow(/line 2, column 'label'/)
    expect(() => parseLabelsCsv('time,label\n')).toThrow(ServiceError)
  })
  it('labels.csv: names the real line past blank lines, and refuses a timestamp labelled twice', () => {
    const blanks = 'timestamp,label\n\n\n2024-01-01T00:00:00Z,0\n2024-01-01T00:01:00Z,2\n'
    expect(() => parseLabelsCsv(blanks, 'l.csv')).toThrow(/^l\.csv line 5, column 'label': '2'/)
    const twice = 'timestamp,label\n2024-01-01T00:00:00Z,1\n2024-01-01T00:01:00Z,0\n2024-01-01T00:00:00Z,0\n'
    expect(() => parseLabelsCsv(twice, 'l.csv')).toThrow(
      /line 4: timestamp '2024-01-01T00:00:00Z' is labelled already on line 2/,
    )
  })
  it('labels.csv: columns the header adds are allowed; a row must have as many as the header; one row at least', () => {
    const noted = parseLabelsCsv('timestamp,label,note\n2024-01-01T00:00:00Z,1,pump restarted\n', 'l.csv')
    expect([...noted.labels]).toEqual([1])
    expect(() => parseLabelsCsv('timestamp,label,note\n2024-01-01T00:00:00Z,1\n', 'l.csv')).toThrow(
      'l.csv line 2: 2 columns, the header has 3 (timestamp,label,note)',
    )
    expect(() => parseLabelsCsv('timestamp,label\n2024-01-01T00:00:00Z,1,x\n', 'l.csv')).toThrow(/3 columns/)
    expect(() => parseLabelsCsv('timestamp,label\n', 'l.csv')).toThrow('l.csv holds no label (only a header)')
  })

  it('interpretation.csv', () => {
    const s = parseInterpretationCsv('start,end,variables\n2024-01-01T00:00:00Z,2024-01-01T00:02:00Z,x01;x02\n')
    expect(s).toEqual([{ start: T0, end: T0 + 2 * MIN, variables: ['x01', 'x02'] }])
  })
  it('interpretation.csv: a reversed segment is refused with its line; nested ones are kept', () => {
    const header = 'start,end,variables\n'
    expect(() => parseInterpretationCsv(`${header}2024-01-01T00:05:00Z,2024-01-01T00:02:00Z,x\n`)).toThrow(
      'line 2: end is before start',
    )
    const nested = `${header}2024-01-01T00:00:00Z,2024-01-01T00:20:00Z,x\n2024-01-01T00:10:00Z,2024-01-01T00:12:00Z,y\n`
    expect(parseInterpretationCsv(nested)).toHaveLength(2)
  })
})

describe('hitRate', () => {
  it('finds the segment of a row after a nested segment ended (the outer one), and the inner one inside it', () => {
    const nested = [
      { start: 0, end: 20, variables: ['a'] },
      { start: 10, end: 12, variables: ['b'] },
    ]
    const row = (timestamp: number, top: string) => ({ timestamp, isAnomaly: true, ranked: [top] })
    expect(hitRate([row(15, 'a')], nested, 100)).toBe(1) // was NaN: the search stopped at the inner segment
    expect(hitRate([row(11, 'b')], nested, 100)).toBe(1)
    expect(hitRate([row(5, 'a'), row(21, 'a')], nested, 100)).toBe(1)
  })

  const segments = [{ start: 10, end: 20, variables: ['a', 'b'] }]
  const rows = [
    { timestamp: 10, isAnomaly: true, ranked: ['a', 'c', 'b'] }, // @100%: top2 {a,c} → 1/2; @150%: top3 → 2/2
    { timestamp: 15, isAnomaly: true, ranked: ['b', 'a', 'c'] }, // 1 and 1
    { timestamp: 16, isAnomaly: false, ranked: [] }, // not detected: skipped
    { timestamp: 30, isAnomaly: true, ranked: ['c'] }, // outside segments: skipped
  ]
  it('averages over detected rows inside segments', () => {
    expect(hitRate(rows, segments, 100)).toBeCloseTo(0.75, 12)
    expect(hitRate(rows, segments, 150)).toBe(1)
    expect(hitRate([], segments, 100)).toBeNaN()
  })
})

describe('evaluateResults', () => {
  const state = (t: number, score: number, isAnomaly: boolean, vars: string[] = []): AnomalyState => ({
    timestamp: t,
    value: {
      isAnomaly,
      score,
      severity: 0,
      interpretation: vars.map((v, i) => ({
        variable: v,
        contributionScore: 1 - i / 10,
        correlationChanges: { changedVariables: [] },
      })),
    },
    errors: [],
  })
  it('joins by timestamp; unscored rows count as missed', () => {
    const results: AnomalyState[] = [
      { timestamp: 0, errors: [{ code: 'InsufficientHistoricalData', message: 'historical data is not enough.' }] },
      state(1, 0.9, true, ['b', 'a']),
      state(2, 0.2, false),
      state(3, 0.8, false),
    ]
    const labels = { timestamps: [0, 1, 2, 3], labels: Uint8Array.from([1, 1, 0, 1]) }
    const r = evaluateResults(results, labels, [{ start: 1, end: 3, variables: ['a'] }])
    expect(r).toMatchObject({ rows: 4, unscored: 1, positives: 3, detected: 1, precision: 1 })
    expect(r.recall).toBeCloseTo(1 / 3, 12)
    expect(r.f1).toBeCloseTo(0.5, 12)
    // label segments rows 0–1 (hit at 1 → both count) and row 3 (missed): tp2 fn1 → F1 0.8
    expect(r.paF1).toBeCloseTo(0.8, 12)
    expect(r.hit100).toBe(0) // top1 = b, cause a
    expect(r.hit150).toBe(1) // top ⌈1.5⌉=2 = {b,a} ∋ a
  })
  it('reports recall and every F1 as not applicable (NaN) when nothing is labelled anomalous', () => {
    const results = [state(1, 0.9, true), state(2, 0.2, false)]
    const r = evaluateResults(results, { timestamps: [1, 2], labels: Uint8Array.from([0, 0]) })
    expect(r).toMatchObject({ positives: 0, detected: 1, precision: 0 })
    for (const key of ['recall', 'f1', 'paF1', 'bestF1', 'aucPR', 'bestThreshold'] as const) expect(r[key]).toBeNaN()
  })
  it('meanFinite skips NaN', () => {
    expect(meanFinite([1, NaN, 3])).toBe(2)
    expect(meanFinite([NaN])).toBeNaN()
  })
})
