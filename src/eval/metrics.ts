/**
 * Detection metrics from point labels (1 = anomalous). Conventions: precision is 0 when nothing is predicted,
 * recall is 0 when nothing is labelled, F1 is 0 when precision + recall is 0. Score-based metrics return NaN when
 * there is no positive label (nothing to rank), so averages can skip them.
 */

export interface PointMetrics {
  tp: number
  fp: number
  fn: number
  precision: number
  recall: number
  f1: number
}

type Flags = ArrayLike<boolean | number>

function f1Of(precision: number, recall: number): number {
  return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall)
}

function fromCounts(tp: number, fp: number, fn: number): PointMetrics {
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp)
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn)
  return { tp, fp, fn, precision, recall, f1: f1Of(precision, recall) }
}

function checkLengths(a: ArrayLike<unknown>, b: ArrayLike<unknown>): void {
  if (a.length !== b.length) throw new RangeError(`length mismatch: ${a.length} predictions vs ${b.length} labels`)
}

/** Point-wise precision / recall / F1. */
export function pointMetrics(predicted: Flags, labels: Flags): PointMetrics {
  checkLengths(predicted, labels)
  let tp = 0
  let fp = 0
  let fn = 0
  for (let i = 0; i < labels.length; i++) {
    const p = Boolean(predicted[i])
    const l = Boolean(labels[i])
    if (p && l) tp++
    else if (p) fp++
    else if (l) fn++
  }
  return fromCounts(tp, fp, fn)
}

/** Labelled segments as [start, end) index pairs. */
export function labelSegments(labels: Flags): [number, number][] {
  const segments: [number, number][] = []
  let start = -1
  for (let i = 0; i <= labels.length; i++) {
    const on = i < labels.length && Boolean(labels[i])
    if (on && start < 0) start = i
    else if (!on && start >= 0) {
      segments.push([start, i])
      start = -1
    }
  }
  return segments
}

/** Standard point adjustment: a labelled segment with any detected point counts as fully detected. */
export function pointAdjust(predicted: Flags, labels: Flags): boolean[] {
  checkLengths(predicted, labels)
  const adjusted = Array.from({ length: predicted.length }, (_, i) => Boolean(predicted[i]))
  for (const [s, e] of labelSegments(labels)) {
    let hit = false
    for (let i = s; i < e && !hit; i++) hit = adjusted[i] === true
    if (hit) for (let i = s; i < e; i++) adjusted[i] = true
  }
  return adjusted
}

/** Point-adjusted F1 (only to compare with papers: it rewards a single hit per segment). */
export function pointAdjustedMetrics(predicted: Flags, labels: Flags): PointMetrics {
  return pointMetrics(pointAdjust(predicted, labels), labels)
}

/**
 * Walks the thresholds from the highest score down, one step per distinct score (ties move together), and calls
 * `visit(tp, fp)` with the counts of "score >= threshold". O(n log n) for the sort.
 */
function sweep(
  scores: ArrayLike<number>,
  labels: Flags,
  visit: (tp: number, fp: number, threshold: number) => void,
): void {
  checkLengths(scores, labels)
  // Comparison, not subtraction: -Infinity (unscored rows) minus itself is NaN and would break the sort.
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => {
    const sa = scores[a] ?? 0
    const sb = scores[b] ?? 0
    return sb > sa ? 1 : sb < sa ? -1 : 0
  })
  let tp = 0
  let fp = 0
  for (let k = 0; k < order.length; k++) {
    const i = order[k] ?? 0
    // Unscored rows (−∞, sorted last) are never detected at any threshold: they stay missed, not a last step.
    if (scores[i] === Number.NEGATIVE_INFINITY) break
    if (labels[i]) tp++
    else fp++
    const next = order[k + 1]
    if (next === undefined || scores[next] !== scores[i]) visit(tp, fp, scores[i] ?? 0)
  }
}

function positives(labels: Flags): number {
  let n = 0
  for (let i = 0; i < labels.length; i++) if (labels[i]) n++
  return n
}

/** Average precision of `score` (area under the precision-recall curve, step-wise as scikit-learn). */
export function averagePrecision(scores: ArrayLike<number>, labels: Flags): number {
  const total = positives(labels)
  if (total === 0) return Number.NaN
  let ap = 0
  let prevRecall = 0
  sweep(scores, labels, (tp, fp) => {
    const recall = tp / total
    ap += (recall - prevRecall) * (tp / (tp + fp))
    prevRecall = recall
  })
  return ap
}

export interface BestF1 extends PointMetrics {
  /** Predict anomalous when `score >= threshold`. */
  threshold: number
}

/** Best point-wise F1 over every threshold on `score`. */
export function bestF1(scores: ArrayLike<number>, labels: Flags): BestF1 {
  const total = positives(labels)
  let best: BestF1 = { ...fromCounts(0, 0, total), threshold: Number.POSITIVE_INFINITY }
  if (total === 0) return best
  sweep(scores, labels, (tp, fp, threshold) => {
    const m = fromCounts(tp, fp, total - tp)
    if (m.f1 > best.f1) best = { ...m, threshold }
  })
  return best
}
