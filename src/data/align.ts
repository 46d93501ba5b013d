/**
 * Alignment and gap filling with MVAD/OSS semantics (mvad-api.md §7):
 * - `Outer`: union of every timestamp seen (a OneTable row with empty cells is kept); `Inner`: only timestamps where
 *   every variable has a value.
 * - `Previous` forward-fills and back-fills the head; `Subsequent` back-fills and forward-fills the tail; `Linear`
 *   interpolates interior gaps (by time, equal to by-index on a regular grid) and copies the nearest value into
 *   leading/trailing gaps; `Zero`/`Fixed` write a constant. Any value still missing (an all-empty column) becomes 0.
 * Filling uses the whole input; the optional time range is applied afterwards, so the first row of a range can be
 * filled from data just before it. `variableStates` describe the returned rows only.
 */
import {
  ALIGN_MODES,
  DEFAULT_ALIGN_POLICY,
  FILL_NA_METHODS,
  type AlignPolicy,
  type AlignedSeries,
  type FillNAMethod,
  type VariableState,
} from '../domain/types.js'
import { ServiceError } from '../errors.js'
import { MAX_ABS_VALUE, MVAD_LIMITS } from './limits.js'
import { formatIsoTimestamp } from './timestamp.js'
import type { RawTable, RawVariable, TimeRange } from './table.js'

/** Options of {@link alignTable}. */
export interface AlignOptions {
  /** Only keep rows in this inclusive range (after filling). @defaultValue all rows */
  range?: TimeRange
  /** Reject more aligned timestamps than this with `TooManyData`. @defaultValue 1,000,000 */
  maxTimestamps?: number
  /**
   * `variableStates` describe only the rows in this range (as MVAD's batch results describe the detection window,
   * while earlier rows serve as history). @defaultValue the returned rows
   */
  statesRange?: TimeRange
}

/** Checks a user-supplied policy and fills in MVAD defaults (Outer, Linear). */
export function resolveAlignPolicy(policy: Partial<AlignPolicy> = {}): AlignPolicy {
  const alignMode = policy.alignMode ?? DEFAULT_ALIGN_POLICY.alignMode
  const fillNAMethod = policy.fillNAMethod ?? DEFAULT_ALIGN_POLICY.fillNAMethod
  if (!(ALIGN_MODES as readonly string[]).includes(alignMode)) {
    throw new ServiceError(
      'InvalidAlignMode',
      `alignMode must be 'Inner' or 'Outer' (case-sensitive), got '${alignMode}'`,
    )
  }
  if (!(FILL_NA_METHODS as readonly string[]).includes(fillNAMethod)) {
    throw new ServiceError(
      'InvalidFillNAMethod',
      `fillNAMethod must be one of ${FILL_NA_METHODS.join(', ')} (case-sensitive), got '${fillNAMethod}'`,
    )
  }
  if (fillNAMethod === 'Fixed' && (policy.paddingValue === undefined || !Number.isFinite(policy.paddingValue))) {
    throw new ServiceError(
      'RequiredPaddingValue',
      "paddingValue (a finite number) is required when fillNAMethod is 'Fixed'",
    )
  }
  // The values read are held to the same bound: beyond it a variable's variance overflows, and the model trained
  // (its scale Infinity) could not be loaded again. Only where it is used: a stored model's unused paddingValue
  // must not stop it loading.
  if (fillNAMethod === 'Fixed' && Math.abs(policy.paddingValue ?? 0) > MAX_ABS_VALUE) {
    throw new ServiceError(
      'InvalidRequestParameterError',
      `paddingValue ${policy.paddingValue} is outside ±${MAX_ABS_VALUE} (too large to model)`,
    )
  }
  return { alignMode, fillNAMethod, paddingValue: policy.paddingValue ?? DEFAULT_ALIGN_POLICY.paddingValue }
}

function sortedUnique(values: Float64Array): Float64Array {
  values.sort()
  let n = 0
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? 0
    if (n === 0 || v !== values[n - 1]) values[n++] = v
  }
  return values.slice(0, n)
}

function outerTimestamps(variables: readonly RawVariable[]): Float64Array {
  const first = variables[0]
  if (first === undefined) return new Float64Array(0)
  if (variables.every((v) => v.timestamps === first.timestamps)) return first.timestamps
  const total = variables.reduce((n, v) => n + v.timestamps.length, 0)
  const all = new Float64Array(total)
  let offset = 0
  for (const v of variables) {
    all.set(v.timestamps, offset)
    offset += v.timestamps.length
  }
  return sortedUnique(all)
}

function innerTimestamps(variables: readonly RawVariable[]): Float64Array {
  const first = variables[0]
  if (first !== undefined && variables.every((v) => v.timestamps === first.timestamps)) {
    // OneTable: one shared timestamp list, so a row-wise scan replaces the counting map.
    const kept: number[] = []
    for (let i = 0; i < first.timestamps.length; i++) {
      if (variables.every((v) => !Number.isNaN(v.values[i]))) kept.push(first.timestamps[i] ?? 0)
    }
    return Float64Array.from(kept)
  }
  const counts = new Map<number, number>()
  for (const v of variables) {
    for (let i = 0; i < v.timestamps.length; i++) {
      if (Number.isNaN(v.values[i])) continue
      const t = v.timestamps[i] ?? 0
      counts.set(t, (counts.get(t) ?? 0) + 1)
    }
  }
  const kept: number[] = []
  for (const [t, c] of counts) if (c === variables.length) kept.push(t)
  return sortedUnique(Float64Array.from(kept))
}

/** Places a variable's values on the aligned grid; `NaN` where it has none. Both timestamp lists are sorted. */
function placeOnGrid(v: RawVariable, grid: Float64Array): Float64Array {
  const column = new Float64Array(grid.length).fill(Number.NaN)
  let j = 0
  for (let i = 0; i < grid.length && j < v.timestamps.length; i++) {
    const t = grid[i] ?? 0
    while (j < v.timestamps.length && (v.timestamps[j] ?? 0) < t) j++
    if (v.timestamps[j] === t) column[i] = v.values[j] ?? Number.NaN
  }
  return column
}

/** Fills `NaN`s of one column in place (see the file header for the semantics). */
export function fillColumn(
  column: Float64Array,
  timestamps: ArrayLike<number>,
  method: FillNAMethod,
  paddingValue = 0,
): Float64Array {
  const n = column.length
  switch (method) {
    case 'Zero':
    case 'Fixed': {
      const fill = method === 'Zero' ? 0 : paddingValue
      for (let i = 0; i < n; i++) if (Number.isNaN(column[i])) column[i] = fill
      break
    }
    case 'Previous':
      forwardFill(column)
      backwardFill(column)
      break
    case 'Subsequent':
      backwardFill(column)
      forwardFill(column)
      break
    case 'Linear':
      interpolate(column, timestamps)
      forwardFill(column)
      backwardFill(column)
      break
  }
  for (let i = 0; i < n; i++) if (Number.isNaN(column[i])) column[i] = 0
  return column
}

function forwardFill(column: Float64Array): void {
  let last = Number.NaN
  for (let i = 0; i < column.length; i++) {
    const v = column[i] ?? Number.NaN
    if (Number.isNaN(v)) column[i] = last
    else last = v
  }
}

function backwardFill(column: Float64Array): void {
  let next = Number.NaN
  for (let i = column.length - 1; i >= 0; i--) {
    const v = column[i] ?? Number.NaN
    if (Number.isNaN(v)) column[i] = next
    else next = v
  }
}

/** Interior gaps only: interpolation by time between the known values on each side. */
function interpolate(column: Float64Array, timestamps: ArrayLike<number>): void {
  let prev = -1
  for (let i = 0; i < column.length; i++) {
    if (Number.isNaN(column[i])) continue
    if (prev >= 0 && i - prev > 1) {
      const v0 = column[prev] ?? 0
      const v1 = column[i] ?? 0
      const t0 = timestamps[prev] ?? 0
      const span = (timestamps[i] ?? 0) - t0
      for (let k = prev + 1; k < i; k++) column[k] = v0 + ((v1 - v0) * ((timestamps[k] ?? 0) - t0)) / span
    }
    prev = i
  }
}

/** Index range [lo, hi) of `timestamps` inside the inclusive range. */
export function rangeIndices(timestamps: ArrayLike<number>, range: TimeRange = {}): [number, number] {
  const lowerBound = (t: number, strict: boolean): number => {
    let lo = 0
    let hi = timestamps.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const v = timestamps[mid] ?? 0
      if (strict ? v <= t : v < t) lo = mid + 1
      else hi = mid
    }
    return lo
  }
  const lo = range.startTime === undefined ? 0 : lowerBound(range.startTime, false)
  const hi = range.endTime === undefined ? timestamps.length : lowerBound(range.endTime, true)
  return [lo, Math.max(lo, hi)]
}

function describeRange(range: TimeRange): string {
  const s = range.startTime === undefined ? 'the start' : formatIsoTimestamp(range.startTime)
  const e = range.endTime === undefined ? 'the end' : formatIsoTimestamp(range.endTime)
  return `${s} … ${e}`
}

/** Aligns a raw table into one gap-filled multivariate series (variables sorted by name, as in the table). */
export function alignTable(
  table: RawTable,
  policy: Partial<AlignPolicy> = {},
  options: AlignOptions = {},
): AlignedSeries {
  const resolved = resolveAlignPolicy(policy)
  const range = options.range ?? {}
  const maxTimestamps = options.maxTimestamps ?? MVAD_LIMITS.maxTimestamps
  if (range.startTime !== undefined && range.endTime !== undefined && range.endTime < range.startTime) {
    throw new ServiceError(
      'InvalidRequestParameterError',
      `endTime must not be before startTime (${describeRange(range)})`,
    )
  }
  if (table.variables.length === 0) throw new ServiceError('NoVariablesFound', `${table.source}: no variables`)
  const grid = resolved.alignMode === 'Outer' ? outerTimestamps(table.variables) : innerTimestamps(table.variables)
  if (grid.length > maxTimestamps) {
    throw new ServiceError(
      'TooManyData',
      `${table.source}: ${grid.length} aligned timestamps, at most ${maxTimestamps}`,
    )
  }
  if (grid.length === 0) {
    const why = resolved.alignMode === 'Inner' ? ' (no timestamp has a value for every variable; try Outer)' : ''
    throw new ServiceError('NoData', `${table.source}: no data rows${why}`)
  }
  const [lo, hi] = rangeIndices(grid, range)
  if (hi <= lo) {
    throw new ServiceError('NoData', `${table.source}: no data between ${describeRange(range)}`)
  }
  const timestamps = Array.from(grid.subarray(lo, hi))
  const rows = Array.from({ length: hi - lo }, () => new Float64Array(table.variables.length))
  const [slo, shi] = options.statesRange === undefined ? [lo, hi] : rangeIndices(grid, options.statesRange)
  const variableStates: VariableState[] = table.variables.map((v, j) => {
    const column = placeOnGrid(v, grid)
    let effectiveCount = 0
    let first: number | null = null
    let last: number | null = null
    for (let i = slo; i < shi; i++) {
      if (Number.isNaN(column[i])) continue
      effectiveCount++
      first ??= grid[i] ?? null
      last = grid[i] ?? null
    }
    fillColumn(column, grid, resolved.fillNAMethod, resolved.paddingValue)
    for (let i = lo; i < hi; i++) (rows[i - lo] as Float64Array)[j] = column[i] ?? 0
    const total = shi - slo
    return {
      variable: v.variable,
      filledNARatio: total === 0 ? 0 : (total - effectiveCount) / total,
      effectiveCount,
      firstTimestamp: first,
      lastTimestamp: last,
    }
  })
  return { variables: table.variables.map((v) => v.variable), timestamps, rows, variableStates }
}
