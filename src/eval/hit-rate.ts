/**
 * Interpretation HitRate@P% (OmniAnomaly, Su et al. 2019): for each *detected* anomalous row inside a labelled
 * segment that lists its causes, the share of those causes found among the top ⌈P%·|causes|⌉ contributors;
 * averaged over such rows. NaN when there is no such row.
 */
import type { EpochMs } from '../domain/types.js'
import type { CauseSegment } from './labels.js'

/** A detected row: its timestamp and its contributors, most contributing first. */
export interface InterpretedRow {
  timestamp: EpochMs
  isAnomaly: boolean
  /** Variable names ranked by contribution, descending. */
  ranked: readonly string[]
}

export function hitRate(rows: readonly InterpretedRow[], segments: readonly CauseSegment[], percent: number): number {
  const sorted = [...segments].filter((s) => s.variables.length > 0).sort((a, b) => a.start - b.start)
  // Latest end among the segments up to each index: how far back a segment may still contain a row.
  const reach: EpochMs[] = []
  for (const [i, segment] of sorted.entries()) reach.push(Math.max(reach[i - 1] ?? -Infinity, segment.end))
  let sum = 0
  let count = 0
  for (const row of rows) {
    if (!row.isAnomaly) continue
    const segment = findSegment(sorted, reach, row.timestamp)
    if (segment === undefined) continue
    const causes = segment.variables
    const k = Math.ceil((percent / 100) * causes.length)
    const top = new Set(row.ranked.slice(0, k))
    let hits = 0
    for (const c of causes) if (top.has(c)) hits++
    sum += hits / causes.length
    count++
  }
  return count === 0 ? Number.NaN : sum / count
}

/**
 * The segment containing `t` with the latest start (the innermost, when segments nest — the SMD labels list a
 * 15:07–15:10 segment inside a 15:04–15:21 one); segments sorted by start, `reach` their running latest end.
 */
function findSegment(
  segments: readonly CauseSegment[],
  reach: readonly EpochMs[],
  t: EpochMs,
): CauseSegment | undefined {
  let lo = 0
  let hi = segments.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((segments[mid]?.start ?? 0) <= t) lo = mid + 1
    else hi = mid
  }
  for (let i = lo - 1; i >= 0 && (reach[i] as EpochMs) >= t; i--) {
    const candidate = segments[i] as CauseSegment
    if (t <= candidate.end) return candidate
  }
  return undefined
}
