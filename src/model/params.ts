/**
 * Parameters of the multivariate detector. Every field has a default; `resolveParams` validates a partial set and
 * reports every problem at once with MVAD's error codes.
 */
import { ServiceError } from '../errors.js'

export interface ModelParams {
  /** Rows per window (MVAD slidingWindow), 28–2880. @defaultValue 300 */
  slidingWindow: number
  /** Seed of every pseudo-random choice (none today; kept so states stay reproducible). @defaultValue 42 */
  seed: number
  /** Lags of all variables used to forecast each variable. @defaultValue 2 */
  lags: number
  /** Ridge penalty of the forecaster, relative to the mean diagonal of XᵀX. @defaultValue 0.01 */
  ridge: number
  /** Share of the training variance the low-rank (PCA) subspace keeps. @defaultValue 0.9 */
  pcaVariance: number
  /** Rows of per-variable error averaged into a row's score (inside the window). @defaultValue 5 */
  smoothing: number
  /** The model part of the score is the mean of this many largest per-variable errors (0 = all). @defaultValue 1 */
  topVariables: number
  /** Most prototypes of the training states kept for the novelty part (0 = no novelty part). @defaultValue 256 */
  noveltyPrototypes: number
  /** Rows whose novelty (distance to the nearest prototype) is averaged into a row's score. @defaultValue 20 */
  noveltySmoothing: number
  /**
   * Rows over which the novelty part keeps its peak: a row's novelty part is the largest noveltySmoothing-row mean
   * novelty among the last noveltyHold rows (1 = no hold). Capped at slidingWindow − noveltySmoothing + 1, so that
   * a window holds every row it needs. @defaultValue 60
   */
  noveltyHold: number
  /**
   * Rows over which each continuous variable's RMS row-to-row change is measured for the volatility and stillness
   * parts of the score (0 = neither). Capped at slidingWindow − 1. @defaultValue 40
   */
  volatilityWindow: number
  /** Tail probability of the label-free threshold on training scores (threshold.ts). @defaultValue 0.005 */
  riskLevel: number
  /** |Δ correlation| between window and training that marks a variable as changed. @defaultValue 0.5 */
  correlationChange: number
}

export const DEFAULT_MODEL_PARAMS: Readonly<ModelParams> = Object.freeze({
  slidingWindow: 300,
  seed: 42,
  lags: 2,
  ridge: 0.01,
  pcaVariance: 0.9,
  smoothing: 5,
  topVariables: 1,
  noveltyPrototypes: 256,
  noveltySmoothing: 20,
  noveltyHold: 60,
  volatilityWindow: 40,
  riskLevel: 0.005,
  correlationChange: 0.5,
})

export function resolveParams(partial: Partial<ModelParams> = {}): ModelParams {
  const p: ModelParams = { ...DEFAULT_MODEL_PARAMS }
  const problems: string[] = []
  for (const [key, value] of Object.entries(partial)) {
    // A misspelt name would otherwise be dropped silently and train with the default.
    if (!Object.hasOwn(DEFAULT_MODEL_PARAMS, key)) {
      problems.push(`unknown parameter '${key}' (known: ${Object.keys(DEFAULT_MODEL_PARAMS).join(', ')})`)
    } else if (value !== undefined) (p as unknown as Record<string, number>)[key] = value
  }
  const intIn = (name: keyof ModelParams, lo: number, hi: number): void => {
    const v = p[name]
    if (!Number.isInteger(v) || v < lo || v > hi)
      problems.push(`${name} must be an integer in [${lo}, ${hi}], got ${v}`)
  }
  const numIn = (name: keyof ModelParams, lo: number, hi: number): void => {
    const v = p[name]
    if (!Number.isFinite(v) || v <= lo || v > hi) problems.push(`${name} must be in (${lo}, ${hi}], got ${v}`)
  }
  if (!Number.isInteger(p.slidingWindow) || p.slidingWindow < 28 || p.slidingWindow > 2880) {
    throw new ServiceError('InvalidSlidingWindow', "The 'slidingWindow' field must be an integer between 28 and 2880.")
  }
  intIn('seed', 0, 2 ** 31 - 1)
  intIn('lags', 1, 10)
  numIn('ridge', 0, 1e6)
  numIn('pcaVariance', 0, 1)
  intIn('smoothing', 1, 60)
  intIn('topVariables', 0, 301)
  intIn('noveltyPrototypes', 0, 1024)
  intIn('noveltySmoothing', 1, 120)
  intIn('noveltyHold', 1, 1440)
  intIn('volatilityWindow', 0, 1440)
  numIn('riskLevel', 0, 0.5)
  numIn('correlationChange', 0, 2)
  if (p.lags + p.smoothing > p.slidingWindow) {
    problems.push(`lags + smoothing (${p.lags + p.smoothing}) must not exceed slidingWindow (${p.slidingWindow})`)
  }
  if (p.noveltySmoothing > p.slidingWindow) {
    problems.push(`noveltySmoothing (${p.noveltySmoothing}) must not exceed slidingWindow (${p.slidingWindow})`)
  }
  if (problems.length > 0)
    throw new ServiceError('InvalidModelState', `invalid model parameters: ${problems.join('; ')}`)
  return p
}

/**
 * Rows the novelty part's peak is held over: noveltyHold, capped so that the noveltySmoothing rows behind the
 * oldest held row still lie inside the window (a slidingWindow of 28 holds at most 28 − 20 + 1 = 9 rows).
 */
export function noveltyHoldRows(p: Pick<ModelParams, 'noveltyHold' | 'noveltySmoothing' | 'slidingWindow'>): number {
  return Math.max(1, Math.min(p.noveltyHold, p.slidingWindow - p.noveltySmoothing + 1))
}

/** Rows of changes the volatility part measures: volatilityWindow, capped so the window holds the rows it needs. */
export function volatilityRows(p: Pick<ModelParams, 'volatilityWindow' | 'slidingWindow'>): number {
  return Math.min(p.volatilityWindow, p.slidingWindow - 1)
}
