/**
 * MVAD input tables before alignment. A `RawTable` keeps each variable as its own (timestamp, value) series so that
 * OneTable (shared timestamps, empty cells) and MultiTable (one file per variable, own timestamps) align the same way.
 * `NaN` in `values` marks a missing cell: the timestamp exists (Outer keeps it) but the variable has no value there.
 */
import type { EpochMs } from '../domain/types.js'

export const DATA_SCHEMAS = ['OneTable', 'MultiTable'] as const
export type DataSchema = (typeof DATA_SCHEMAS)[number]

export interface RawVariable {
  variable: string
  /** Strictly increasing. */
  timestamps: Float64Array
  /** Same length as `timestamps`; `NaN` = missing. */
  values: Float64Array
}

export interface RawTable {
  schema: DataSchema
  /** File or folder name, used in error messages. */
  source: string
  /** Sorted by variable name. */
  variables: RawVariable[]
}

/** Inclusive time range; a missing bound means "from the first" / "to the last" timestamp. */
export interface TimeRange {
  startTime?: EpochMs
  endTime?: EpochMs
}
