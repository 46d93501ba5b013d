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

/** Options shared by the CSV readers. */
export interface ReadLimits {
  /** Reject more variables than this with `TooManyVariables`. @defaultValue 301 */
  maxVariables?: number
  /** Reject more timestamps than this with `TooManyData`. @defaultValue 1,000,000 */
  maxTimestamps?: number
}
