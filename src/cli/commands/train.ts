/** `mvad train`: CSV (OneTable file or MultiTable folder) → aligned series → fitted model → model.json. */
import type { AlignPolicy } from '../../domain/types.js'
import { alignTable, resolveAlignPolicy } from '../../data/align.js'
import { readTable } from '../../data/files.js'
import type { TimeRange } from '../../data/table.js'
import { MVAD_LIMITS } from '../../data/limits.js'
import { assertTrainingInput, fitModel, resolveParams, type ModelParams } from '../../model/index.js'
import { isServiceError } from '../../errors.js'
import { UsageError } from '../exit.js'
import type { ParamArgs } from '../options.js'
import { assertWritable, writeText } from '../io.js'
import { modelFileForSeries } from '../model-file.js'
import { createProgress } from '../progress.js'
import { seconds, type CliContext } from './context.js'

export interface TrainOptions {
  input: string
  out: string
  slidingWindow?: number
  /** `--param name=value` (repeatable): further model parameters. */
  param?: ParamArgs
  alignMode?: AlignPolicy['alignMode']
  fillNaMethod?: AlignPolicy['fillNAMethod']
  paddingValue?: number
  startTime?: number
  endTime?: number
}

export function policyFrom(opts: Pick<TrainOptions, 'alignMode' | 'fillNaMethod' | 'paddingValue'>): AlignPolicy {
  if (opts.paddingValue !== undefined && opts.fillNaMethod !== 'Fixed') {
    throw new UsageError(
      `--padding-value is used only with --fill-na-method Fixed (the method is ${opts.fillNaMethod ?? 'Linear, the default'})`,
    )
  }
  const policy: Partial<AlignPolicy> = {}
  if (opts.alignMode !== undefined) policy.alignMode = opts.alignMode
  if (opts.fillNaMethod !== undefined) policy.fillNAMethod = opts.fillNaMethod
  if (opts.paddingValue !== undefined) policy.paddingValue = opts.paddingValue
  try {
    return resolveAlignPolicy(policy)
  } catch (error) {
    // Only flags went in (e.g. --fill-na-method Fixed without --padding-value): a usage error, before any data is read.
    if (isServiceError(error))
      throw new UsageError(`${error.message} (--align-mode, --fill-na-method, --padding-value)`)
    throw error
  }
}

export function rangeFrom(opts: { startTime?: number; endTime?: number }): TimeRange {
  const range: TimeRange = {}
  if (opts.startTime !== undefined) range.startTime = opts.startTime
  if (opts.endTime !== undefined) range.endTime = opts.endTime
  if (range.startTime !== undefined && range.endTime !== undefined && range.endTime < range.startTime) {
    throw new UsageError('--end-time must not be before --start-time')
  }
  return range
}

/**
 * The model parameters of `--sliding-window` and `--param`, checked now (before any data is read) with the model's
 * own rules; a bad name or value is a usage error naming every problem.
 */
export function modelParamsFrom(opts: { slidingWindow?: number; param?: ParamArgs }): ModelParams {
  const { slidingWindow: misplaced, ...values } = opts.param?.values ?? {}
  const problems = [...(opts.param?.problems ?? [])]
  if (misplaced !== undefined) problems.push('set slidingWindow with --sliding-window')
  let params: ModelParams | undefined
  try {
    params = resolveParams({ ...values, slidingWindow: opts.slidingWindow ?? MVAD_LIMITS.defaultSlidingWindow })
  } catch (error) {
    if (!isServiceError(error)) throw error
    problems.push(error.message)
  }
  if (params === undefined || problems.length > 0) throw new UsageError(`--param: ${problems.join('; ')}`)
  return params
}

export async function trainCommand(opts: TrainOptions, ctx: CliContext): Promise<void> {
  const started = performance.now()
  const alignPolicy = policyFrom(opts)
  const params = modelParamsFrom(opts)
  const range = rangeFrom(opts)
  await assertWritable(opts.out, '--out', [opts.input])
  const table = await readTable(opts.input)
  const series = alignTable(table, alignPolicy, { range })
  assertTrainingInput(series, params, opts.input)
  const progress = createProgress('train', ctx.stderr as NodeJS.WriteStream)
  const fitStarted = performance.now()
  let fitted: ReturnType<typeof fitModel>
  try {
    fitted = fitModel(series, params, { onProgress: (f, stage) => progress.update(f, stage) })
  } finally {
    progress.stop()
  }
  const file = modelFileForSeries(fitted, series, {
    source: opts.input,
    slidingWindow: params.slidingWindow,
    alignPolicy,
    trainingSeconds: seconds(fitStarted),
  })
  await writeText(opts.out, `${JSON.stringify(file)}\n`)
  ctx.stderr.write(
    `trained on ${series.timestamps.length} rows × ${series.variables.length} variables ` +
      `(${file.modelInfo.startTime} … ${file.modelInfo.endTime}) in ${seconds(started)} s; model written to ${opts.out}\n`,
  )
  for (const warning of fitted.diagnostics.warnings) ctx.stderr.write(`warning: ${warning}\n`)
}
