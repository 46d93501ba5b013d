/**
 * Joins detection results with ground truth by timestamp and computes every benchmark metric in one place, so the
 * CLI `evaluate` and `bench:quality` report the same numbers. A labelled row without a scored result (missing, or
 * `InsufficientHistoricalData`) counts as not detected with the lowest score — conservative, never flattering.
 */
import type { AnomalyState } from '../domain/types.js'
import { hitRate, type InterpretedRow } from './hit-rate.js'
import type { CauseSegment, Labels } from './labels.js'
import { averagePrecision, bestF1, pointAdjustedMetrics, pointMetrics } from './metrics.js'

export interface EvaluationReport {
  /** Labelled rows evaluated. */
  rows: number
  /** Labelled rows that had no scored result. */
  unscored: number
  /** Labelled anomalous rows. */
  positives: number
  /** Rows the service flagged. */
  detected: number
  bestF1: number
  bestThreshold: number
  aucPR: number
  precision: number
  recall: number
  f1: number
  paF1: number
  /** HitRate@100%; NaN without interpretation labels or detected anomalous rows. */
  hit100: number
  /** HitRate@150%. */
  hit150: number
}

export function evaluateResults(
  results: readonly AnomalyState[],
  labels: Labels,
  causes?: readonly CauseSegment[],
): EvaluationReport {
  const byTime = new Map<number, AnomalyState>()
  for (const r of results) byTime.set(r.timestamp, r)
  const n = labels.timestamps.length
  const scores = new Float64Array(n)
  const predicted = new Uint8Array(n)
  const interpreted: InterpretedRow[] = []
  let unscored = 0
  labels.timestamps.forEach((t, i) => {
    const value = byTime.get(t)?.value
    if (value === undefined || !Number.isFinite(value.score)) {
      unscored++
      scores[i] = Number.NEGATIVE_INFINITY
      return
    }
    scores[i] = value.score
    predicted[i] = value.isAnomaly ? 1 : 0
    if (value.isAnomaly) {
      const ranked = [...value.interpretation]
        .sort((a, b) => b.contributionScore - a.contributionScore)
        .map((c) => c.variable)
      interpreted.push({ timestamp: t, isAnomaly: true, ranked })
    }
  })
  const point = pointMetrics(predicted, labels.labels)
  const best = bestF1(scores, labels.labels)
  // Without a labelled anomaly, recall and every F1 have nothing to measure: not applicable, not 0.
  const ifPositives = (value: number): number => (point.tp + point.fn === 0 ? Number.NaN : value)
  return {
    rows: n,
    unscored,
    positives: point.tp + point.fn,
    detected: point.tp + point.fp,
    bestF1: ifPositives(best.f1),
    bestThreshold: ifPositives(best.threshold),
    aucPR: ifPositives(averagePrecision(scores, labels.labels)),
    precision: point.precision,
    recall: ifPositives(point.recall),
    f1: ifPositives(point.f1),
    paF1: ifPositives(pointAdjustedMetrics(predicted, labels.labels).f1),
    hit100: causes === undefined ? Number.NaN : hitRate(interpreted, causes, 100),
    hit150: causes === undefined ? Number.NaN : hitRate(interpreted, causes, 150),
  }
}

/** Mean of the finite values (NaN when none): entity-wise averaging that skips "not applicable". */
export function meanFinite(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v))
  return finite.length === 0 ? Number.NaN : finite.reduce((a, b) => a + b, 0) / finite.length
}
