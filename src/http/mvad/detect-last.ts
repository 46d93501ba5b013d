/**
 * MVAD detect-last (synchronous): the request's variables → the same alignment as a file (the model's policy, in
 * the model's column order) → the batch scorer for the last timestamp, with the model's training tail as history
 * when the data continues training. Pure apart from the model it is given.
 */
import type { AlignedSeries } from '../../domain/types.js'
import type { RawTable } from '../../data/table.js'
import { assertEnoughInput, alignForModel } from '../../data/inference.js'
import { MAX_ABS_VALUE, MVAD_LIMITS } from '../../data/limits.js'
import { formatIsoTimestamp, parseIsoTimestamp } from '../../data/timestamp.js'
import { ServiceError } from '../../errors.js'
import type { LoadedModel } from '../../cli/model-file.js'
import { createScorer } from '../../model/index.js'
import { detectBatch, toWireAnomalyState } from '../../pipeline/index.js'

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
    const pairs = v.timestamps.map((text, j) => {
      const t = parseIsoTimestamp(text)
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
      return [t, value] as const
    })
    pairs.sort((a, b) => a[0] - b[0])
    for (let j = 1; j < pairs.length; j++) {
      if ((pairs[j] as readonly [number, number])[0] === (pairs[j - 1] as readonly [number, number])[0]) {
        throw new ServiceError('DuplicatedTimestamps', `variable ${name}: a timestamp appears twice`)
      }
    }
    return {
      variable: name,
      timestamps: Float64Array.from(pairs, (p) => p[0]),
      values: Float64Array.from(pairs, (p) => p[1]),
    }
  })
  raw.sort((a, b) => (a.variable < b.variable ? -1 : a.variable > b.variable ? 1 : 0))
  return { schema: 'OneTable', source: 'request body', variables: raw }
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
  const { results } = detectBatch(createScorer(model.state), series, {
    slidingWindow: model.slidingWindow,
    topContributorCount,
    range: { startTime: last, endTime: last },
    ...(model.trainingTail === undefined ? {} : { trainingTail: model.trainingTail }),
  })
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
    results: results.map(toWireAnomalyState),
  }
}
