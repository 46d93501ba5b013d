/**
 * Inference-side checks: a detection input must carry exactly the model's variables (MVAD: "Inference must use
 * exactly the training variable set") and at least one sliding window of rows.
 */
import type { AlignPolicy, AlignedSeries } from '../domain/types.js'
import { ServiceError } from '../errors.js'
import { alignTable, type AlignOptions } from './align.js'
import type { RawTable } from './table.js'

/**
 * Aligns `table` for a model trained on `modelVariables`, in the model's column order.
 * Missing variable → `FileNotExist` (MultiTable) / `ColumnNotFound` (OneTable);
 * extra variable → `RedundantFile` (MultiTable) / `UnknownVariable` (OneTable); a variable with no value at all →
 * `NoData`.
 */
export function alignForModel(
  table: RawTable,
  modelVariables: readonly string[],
  policy: Partial<AlignPolicy> = {},
  options: AlignOptions = {},
): AlignedSeries {
  const have = new Set(table.variables.map((v) => v.variable))
  const want = new Set(modelVariables)
  const missing = modelVariables.filter((v) => !have.has(v))
  const extra = table.variables.map((v) => v.variable).filter((v) => !want.has(v))
  const multi = table.schema === 'MultiTable'
  if (missing.length > 0) {
    const what = multi ? `files ${missing.map((m) => `${m}.csv`).join(', ')}` : `columns ${missing.join(', ')}`
    // Both at once is often a renamed variable: name the strangers too.
    const strangers = extra.length === 0 ? '' : `; it has variables unknown to the model instead: ${extra.join(', ')}`
    throw new ServiceError(
      multi ? 'FileNotExist' : 'ColumnNotFound',
      `${table.source}: the model was trained with variables the input lacks: ${what}${strangers}`,
    )
  }
  if (extra.length > 0) {
    throw new ServiceError(
      multi ? 'RedundantFile' : 'UnknownVariable',
      `${table.source}: variables unknown to the model: ${extra.join(', ')}; use exactly the training variables`,
    )
  }
  const order = modelVariables.map((name) => table.variables.findIndex((v) => v.variable === name))
  const reordered: RawTable = {
    ...table,
    variables: order.map((i) => table.variables[i]).filter((v) => v !== undefined),
  }
  // Filled throughout, such a variable is a made-up constant the model never saw: most rows would be flagged for it.
  // Judged over every row read (history included), not only the rows a range reports.
  const empty = reordered.variables.filter((v) => !v.values.some(Number.isFinite)).map((v) => v.variable)
  if (empty.length > 0 && reordered.variables.some((v) => v.values.length > 0)) {
    throw variablesWithoutData(table.source, empty, 'value')
  }
  return alignTable(reordered, policy, options)
}

/**
 * `NoData` for model variables with no value (file) or reading (topic range) at all in the data to score: filled
 * throughout, each would be a made-up constant the model never saw, and most rows would be flagged for it.
 */
export function variablesWithoutData(
  source: string,
  variables: readonly string[],
  noun: 'value' | 'reading',
): ServiceError {
  return new ServiceError(
    'NoData',
    `${source}: no ${noun} at all for ${variables.map((v) => `'${v}'`).join(', ')} (every row would be filled ` +
      'with made-up values); give such a variable data',
  )
}

/** MVAD `NotEnoughInput`: fewer rows than one sliding window. */
export function assertEnoughInput(
  series: Pick<AlignedSeries, 'timestamps'>,
  slidingWindow: number,
  source = 'input',
): void {
  const n = series.timestamps.length
  if (n < slidingWindow) {
    throw new ServiceError(
      'NotEnoughInput',
      `${source}: length of data is ${n}, but the minimum length should be at least the sliding window, which is ${slidingWindow}`,
    )
  }
}
