import { describe, expect, it } from 'vitest'
import {
  averagePrecision,
  bestF1,
  labelSegments,
  pointAdjust,
  pointAdjustedMetrics,
  pointMetrics,
} from '../../../src/eval/metrics.js'

describe('point metrics', () => {
  it('counts tp/fp/fn', () => {
    // labels 0 1 1 0 1, predicted 1 1 0 0 0 → tp1 fp1 fn2: P=1/2, R=1/3, F1=0.4
    const m = pointMetrics([1, 1, 0, 0, 0], [0, 1, 1, 0, 1])
    expect(m).toMatchObject({ tp: 1, fp: 1, fn: 2, precision: 0.5 })
    expect(m.recall).toBeCloseTo(1 / 3, 12)
    expect(m.f1).toBeCloseTo(0.4, 12)
  })
  it('is 0 (not NaN) with no predictions or no labels', () => {
    expect(pointMetrics([0, 0], [1, 0])).toMatchObject({ precision: 0, recall: 0, f1: 0 })
    expect(pointMetrics([1, 0], [0, 0])).toMatchObject({ precision: 0, recall: 0, f1: 0 })
  })
  it('rejects mismatched lengths', () => {
    expect(() => pointMetrics([1], [1, 0])).toThrow(RangeError)
  })
})

describe('point adjustment', () => {
  const labels = [0, 1, 1, 1, 0, 1, 1, 0]
  it('finds segments', () =>
    expect(labelSegments(labels)).toEqual([
      [1, 4],
      [5, 7],
    ]))
  it('fills a segment with any hit, leaves a missed one', () => {
    expect(pointAdjust([0, 0, 1, 0, 0, 0, 0, 1], labels).map(Number)).toEqual([0, 1, 1, 1, 0, 0, 0, 1])
    // tp3 fp1 fn2 → P=3/4 R=3/5 F1=2·0.45/1.35=2/3
    expect(pointAdjustedMetrics([0, 0, 1, 0, 0, 0, 0, 1], labels).f1).toBeCloseTo(2 / 3, 12)
  })
  it('does not mutate its input', () => {
    const p = [0, 0, 1, 0, 0, 0, 0, 0]
    pointAdjust(p, labels)
    expect(p).toEqual([0, 0, 1, 0, 0, 0, 0, 0])
  })
})

describe('score metrics', () => {
  // sorted by score: 0.9(1) 0.8(0) 0.7(1) 0.1(0)
  const scores = [0.1, 0.9, 0.7, 0.8]
  const labels = [0, 1, 1, 0]
  it('average precision', () => {
    // recall steps: 0.5 at P=1, 0.5 at P=2/3 → 0.5 + 1/3
    expect(averagePrecision(scores, labels)).toBeCloseTo(0.5 + 1 / 3, 12)
    expect(averagePrecision([0.3, 0.2], [1, 0])).toBe(1)
    expect(averagePrecision([0.3, 0.2], [0, 0])).toBeNaN()
  })
  it('ties move together', () => {
    // one threshold: all predicted, P=1/2 R=1 → AP 0.5
    expect(averagePrecision([0.5, 0.5], [1, 0])).toBe(0.5)
    expect(bestF1([0.5, 0.5], [1, 0]).f1).toBeCloseTo(2 / 3, 12)
  })
  it('best F1 over thresholds', () => {
    // t=0.9: P1 R.5 F1 2/3; t=0.8: P.5 R.5 F.5; t=0.7: P2/3 R1 F1 0.8; t=0.1: P.5 R1 F 2/3
    const b = bestF1(scores, labels)
    expect(b.f1).toBeCloseTo(0.8, 12)
    expect(b.threshold).toBe(0.7)
  })
  it('counts -Infinity scores (unscored rows) as missed at every threshold', () => {
    // t=1: P1 R.5 F 2/3; no threshold flags the unscored rows (−∞ is not a threshold: it would flag everything).
    const b = bestF1([-Infinity, -Infinity, 1], [1, 0, 1])
    expect(b.f1).toBeCloseTo(2 / 3, 12)
    expect(b.threshold).toBe(1)
    expect(averagePrecision([-Infinity, -Infinity, 1], [1, 0, 1])).toBeCloseTo(0.5, 12)
    // Labels no result covers: nothing detected, not a perfect score.
    expect(bestF1([-Infinity, -Infinity], [1, 1]).f1).toBe(0)
    expect(averagePrecision([-Infinity, -Infinity], [1, 1])).toBe(0)
  })
})
