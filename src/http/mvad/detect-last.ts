/**
 * MVAD detect-last (synchronous): the request's variables → the same alignment as a file (the model's policy, in
 * the model's column order) → the stream's detect-last scorer on the last slidingWindow rows (the request must carry
 * that many, so the training tail is never needed; the scorer gives what detect-batch gives for the row). It runs on
 * the event loop, so it computes only what the last row's score reads. Pure apart from the model it is given.
 */
import type { AlignedSeries } from '../../domain/types.js'
import type { RawTable } from '../../data/table.js'
import { assertEnoughInput, alignForModel } from '../../data/inference.js'
import { MAX_ABS_VALUE, MVAD_LIMITS } from '../../data/limits.js'
import { formatIsoTimestamp, parseIsoTimestamp } from '../../data/timestamp.js'
import { ServiceError } from '../../errors.js'
import type { LoadedModel } from '../../cli/model-file.js'
import { createScorer } from '../../model/index.js'
import { toWireAnomalyState } from '../../pipeline/index.js'

/** Most timestamps a detect-last request may carry (MVAD: 2,880). */
export const MAX_LAST_TIMESTAMPS = 2880

export interface LastDetectionVariable {
  /** GA `variable`; the preview and the GA example wrote `name`, an old doc `variableName`: all accepted. */
  variable?: string
  name?: string
  variableName?: string
  timestamps: string[]
  values: number[]
}

export function requestTable(variables: readonly LastDetectionVariable[]): RawTable {
  if (variables.length === 0) throw new ServiceError('NoVariablesFound', 'variables is empty')
  if (variables.length > MVAD_LIMITS.maxVariables) {
    throw new ServiceError('TooManyVariables', `${variables.length} variables, at most ${MVAD_LIMITS.maxVariables}`)
  }
  const seen = new Set<string>()
  // Variables usually share their timestamps: each distinct text is parsed once (2,880 × 300 parses took 1.5 s).
  const parsedTimes = new Map<string, number | undefined>()
  const timeOf = (text: string): number | undefined => {
    const known = parsedTimes.get(text)
    if (known !== undefined || parsedTimes.has(text)) return known
    const t = parseIsoTimestamp(text)
    parsedTimes.set(text, t)
    return t
  }
  const raw = variables.map((v, i) => {
    const name = v.variable ?? v.name ?? v.variableName
    if (name === undefined || name === '') {
      throw new ServiceError('InvalidRequestParameterError', `variables[${i}] has no "variable" name`)
    }
    if (seen.has(name)) throw new ServiceError('DuplicatedVariables', `variable ${name} appears twice`)
    seen.add(name)
    if (v.timestamps.length !== v.values.length) {
      throw new ServiceError(
        'NumColumnsMismatch',
        `variable ${name}: ${v.timestamps.length} timestamps but ${v.values.length} values`,
      )
    }
    if (v.timestamps.length > MAX_LAST_TIMESTAMPS) {
      throw new ServiceError(
        'TooManyData',
        `variable ${name}: ${v.timestamps.length} timestamps, at most ${MAX_LAST_TIMESTAMPS}`,
      )
    }
    const n = v.timestamps.length
    const timestamps = new Float64Array(n)
    const values = new Float64Array(n)
    let ascending = true
    for (let j = 0; j < n; j++) {
      const text = v.timestamps[j] as string
      const t = timeOf(text)
      if (t === undefined) {
        throw new ServiceError('InvalidTimestampFormat', `variable ${name}: timestamps[${j}] "${text}" is not ISO 8601`)
      }
      const value = v.values[j]
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new ServiceError('VariableParseError', `variable ${name}: values[${j}] is not a finite number`)
      }
      if (Math.abs(value) > MAX_ABS_VALUE) {
        throw new ServiceError('VariableParseError', `variable ${name}: values[${j}] is outside ±${MAX_ABS_VALUE}`)
      }
      timestamps[j] = t
      values[j] = value
      if (j > 0 && t <= (timestamps[j - 1] as number)) ascending = false
    }
    // Clients send time order; sorting (and its per-pair arrays) is for those that do not.
    const series = ascending ? { timestamps, values } : sortedByTime(timestamps, values)
    for (let j = 1; j < n; j++) {
      if (series.timestamps[j] === series.timestamps[j - 1]) {
        throw new ServiceError('DuplicatedTimestamps', `variable ${name}: a timestamp appears twice`)
      }
    }
    return { variable: name, ...series }
  })
  raw.sort((a, b) => (a.variable < b.variable ? -1 : a.variable > b.variable ? 1 : 0))
  return { schema: 'OneTable', source: 'request body', variables: raw }
}

function sortedByTime(
  timestamps: Float64Array,
  values: Float64Array,
): { timestamps: Float64Array; values: Float64Array } {
  const order = Array.from(timestamps.keys()).sort((a, b) => (timestamps[a] as number) - (timestamps[b] as number))
  return {
    timestamps: Float64Array.from(order, (k) => timestamps[k] as number),
    values: Float64Array.from(order, (k) => values[k] as number),
  }
}

/** `{variableStates, results}` of MVAD's MultivariateLastDetectionResult: one result, the last timestamp. */
export function detectLast(
  model: LoadedModel,
  variables: readonly LastDetectionVariable[],
  topContributorCount: number,
): { variableStates: unknown[]; results: unknown[] } {
  const table = requestTable(variables)
  const series: AlignedSeries = alignForModel(table, model.variables, model.alignPolicy)
  assertEnoughInput(series, model.slidingWindow, 'request body')
  const last = series.timestamps[series.timestamps.length - 1] as number
  const value = createScorer(model.state).scoreLast(series.rows.slice(-model.slidingWindow), topContributorCount)
  const at = formatIsoTimestamp(last)
  return {
    // As MVAD's streaming docs show: the states describe the detected point.
    variableStates: series.variables.map((variable) => {
      const given = table.variables.find((v) => v.variable === variable)?.timestamps.includes(last) === true
      return {
        variable,
        filledNARatio: given ? 0 : 1,
        effectiveCount: given ? 1 : 0,
        firstTimestamp: at,
        lastTimestamp: at,
      }
    }),
    results: [toWireAnomalyState({ timestamp: last, value, errors: [] })],
  }
}
