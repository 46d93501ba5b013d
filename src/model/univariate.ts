/**
 * Univariate detectors of the service MVAD users also had (per variable, on the last row of a window):
 *   quantile — outside the [low, high] quantiles of training;
 *   iqr      — outside [Q1 − k·IQR, Q3 + k·IQR] of training;
 *   persist  — the last value departs from the median of the previous `persistWindow` rows by more than k times
 *              the training median absolute step (a level shift, ADTK's PersistAD idea).
 * Usable alone or alongside the multivariate model (`combineWithUnivariate`).
 */
import type { AnomalyValue } from '../domain/types.js'
import { quantile } from './threshold.js'

export const UNIVARIATE_METHODS = ['quantile', 'iqr', 'persist'] as const
export type UnivariateMethod = (typeof UNIVARIATE_METHODS)[number]

export interface UnivariateParams {
  method: UnivariateMethod
  /** quantile: tail probability on each side. @defaultValue 0.001 */
  tail: number
  /** iqr and persist: multiplier. @defaultValue 3 (iqr), 6 (persist) */
  k: number
  /** persist: rows before the last one that form the reference level. @defaultValue 10 */
  persistWindow: number
}

export interface UnivariateState {
  method: UnivariateMethod
  variables: string[]
  low: number[]
  high: number[]
  /** persist only: training median absolute step per variable. */
  step: number[]
  k: number
  persistWindow: number
}

export function fitUnivariate(
  variables: readonly string[],
  rows: readonly ArrayLike<number>[],
  params: Partial<UnivariateParams> & { method: UnivariateMethod },
): UnivariateState {
  const tail = params.tail ?? 0.001
  const k = params.k ?? (params.method === 'persist' ? 6 : 3)
  const persistWindow = params.persistWindow ?? 10
  const low: number[] = []
  const high: number[] = []
  const step: number[] = []
  variables.forEach((_, j) => {
    const column = rows.map((row) => row[j] as number).sort((a, b) => a - b)
    if (params.method === 'quantile') {
      low.push(quantile(column, tail))
      high.push(quantile(column, 1 - tail))
    } else {
      const q1 = quantile(column, 0.25)
      const q3 = quantile(column, 0.75)
      low.push(q1 - k * (q3 - q1))
      high.push(q3 + k * (q3 - q1))
    }
    const steps = rows
      .slice(1)
      .map((row, t) => Math.abs((row[j] as number) - ((rows[t] as ArrayLike<number>)[j] as number)))
      .sort((a, b) => a - b)
    step.push(Math.max(quantile(steps, 0.5), 1e-9))
  })
  return { method: params.method, variables: [...variables], low, high, step, k, persistWindow }
}

/** Variables flagged on the last row of `window` (in variables order). */
export function univariateFlags(state: UnivariateState, window: readonly ArrayLike<number>[]): string[] {
  const last = window[window.length - 1]
  if (last === undefined) return []
  const flagged: string[] = []
  state.variables.forEach((variable, j) => {
    const value = last[j] as number
    if (state.method === 'persist') {
      const reference = window
        .slice(-state.persistWindow - 1, -1)
        .map((row) => row[j] as number)
        .sort((a, b) => a - b)
      if (reference.length === 0) return
      const level = quantile(reference, 0.5)
      if (Math.abs(value - level) > state.k * (state.step[j] as number)) flagged.push(variable)
    } else if (value < (state.low[j] as number) || value > (state.high[j] as number)) {
      flagged.push(variable)
    }
  })
  return flagged
}

/**
 * ORs univariate flags into a multivariate result: a row flagged by either is anomalous; flagged variables not
 * already among the contributors are appended with an equal share, and contribution scores are renormalised.
 */
export function combineWithUnivariate(value: AnomalyValue, flagged: readonly string[]): AnomalyValue {
  if (flagged.length === 0) return value
  const known = new Set(value.interpretation.map((c) => c.variable))
  const extra = flagged.filter((v) => !known.has(v))
  const share = 1 / Math.max(1, value.interpretation.length + extra.length)
  const interpretation = [
    ...value.interpretation,
    ...extra.map((variable) => ({ variable, contributionScore: share, correlationChanges: { changedVariables: [] } })),
  ]
  const total = interpretation.reduce((s, c) => s + c.contributionScore, 0)
  return {
    isAnomaly: true,
    score: value.score,
    severity: value.isAnomaly ? value.severity : Math.max(value.severity, 0.01),
    interpretation: interpretation.map((c) => ({ ...c, contributionScore: c.contributionScore / total })),
  }
}
