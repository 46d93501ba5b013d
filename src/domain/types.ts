/**
 * Shared domain types. Pure: no I/O imports. Timestamps are epoch milliseconds (UTC) everywhere inside the
 * service; ISO 8601 strings only at the edges (CSV, JSON, REST).
 */

export type EpochMs = number

export const ALIGN_MODES = ['Inner', 'Outer'] as const
export type AlignMode = (typeof ALIGN_MODES)[number]

export const FILL_NA_METHODS = ['Previous', 'Subsequent', 'Linear', 'Zero', 'Fixed'] as const
export type FillNAMethod = (typeof FILL_NA_METHODS)[number]

/** MVAD's alignPolicy. Defaults as MVAD: Outer + Linear. */
export interface AlignPolicy {
  alignMode: AlignMode
  fillNAMethod: FillNAMethod
  /** Used when fillNAMethod is Fixed. */
  paddingValue: number
}

export const DEFAULT_ALIGN_POLICY: AlignPolicy = Object.freeze({
  alignMode: 'Outer',
  fillNAMethod: 'Linear',
  paddingValue: 0,
})

/** MVAD's VariableState (GA names). */
export interface VariableState {
  variable: string
  filledNARatio: number
  effectiveCount: number
  firstTimestamp: EpochMs | null
  lastTimestamp: EpochMs | null
}

/**
 * A time-aligned, gap-filled multivariate series: `rows[i][j]` is variable `variables[j]` at `timestamps[i]`.
 * Variables are sorted by name (as MVAD does) so a model and its inputs agree on column order.
 */
export interface AlignedSeries {
  variables: readonly string[]
  timestamps: readonly EpochMs[]
  rows: readonly Float64Array[]
  variableStates: readonly VariableState[]
}

/** One contributor of an anomalous row (MVAD AnomalyInterpretation). */
export interface Contributor {
  variable: string
  contributionScore: number
  correlationChanges: { changedVariables: string[] }
}

/** MVAD AnomalyValue. */
export interface AnomalyValue {
  isAnomaly: boolean
  /** Raw anomaly score, higher = more anomalous. */
  score: number
  /** 0 when not anomalous; in (0,1] and monotonic in score when anomalous. */
  severity: number
  interpretation: Contributor[]
}

/** MVAD AnomalyState: one result row. `value` is absent when the row has errors. */
export interface AnomalyState {
  timestamp: EpochMs
  value?: AnomalyValue
  errors: { code: string; message: string }[]
}
