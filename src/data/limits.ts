/** MVAD GA data limits (shared/reference/mvad-api.md §7). */
export const MVAD_LIMITS = {
  /** "up to 300 signals"; the documented hard cap is 301. */
  maxVariables: 301,
  /** Training timestamps (and points per variable). */
  maxTimestamps: 1_000_000,
  minSlidingWindow: 28,
  maxSlidingWindow: 2880,
  defaultSlidingWindow: 300,
  minTopContributors: 1,
  maxTopContributors: 30,
  defaultTopContributors: 10,
} as const

/**
 * Largest magnitude a value may have. The model sums squares of scaled values and of their changes: beyond ~1e154 a
 * square is Infinity and a model or a score turns NaN, so far larger than any measurement, and far from that edge.
 */
export const MAX_ABS_VALUE = 1e100

/** Options shared by the CSV readers. */
export interface ReadLimits {
  /** Reject more variables than this with `TooManyVariables`. @defaultValue 301 */
  maxVariables?: number
  /** Reject more timestamps than this with `TooManyData`. @defaultValue 1,000,000 */
  maxTimestamps?: number
}
