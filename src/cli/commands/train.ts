/** `mvad train`: CSV (OneTable file or MultiTable folder) → aligned series → fitted model → model.json. */
import type { AlignPolicy } from '../../domain/types.js'
import { alignTable, resolveAlignPolicy } from '../../data/align.js'
import { readTable } from '../../data/files.js'
import { assertEnoughInput } from '../../data/inference.js'
import type { TimeRange } from '../../data/table.js'
import { MVAD_LIMITS } from '../../data/limits.js'
import { fitModel } from '../../model/index.js'
import { writeText } from '../io.js'
import { modelFileForSeries } from '../model-file.js'
import { createProgress } from '../progress.js'
import { seconds, type CliContext } from './context.js'

export interface TrainOptions {
  input: string
  out: string
  slidingWindow?: number
  alignMode?: AlignPolicy['alignMode']
  fillNaMethod?: AlignPolicy['fillNAMethod']
  paddingValue?: number
  startTime?: number
  endTime?: number
}

export function policyFrom(opts: Pick<TrainOptions, 'alignMode' | 'fillNaMethod' | 'paddingValue'>): AlignPolicy {
  const policy: Partial<AlignPolicy> = {}
  if (opts.alignMode !== undefined) policy.alignMode = opts.alignMode
  if (opts.fillNaMethod !== undefined) policy.fillNAMethod = opts.fillNaMethod
  if (opts.paddingValue !== undefined) policy.paddingValue = opts.paddingValue
  return resolveAlignPolicy(policy)
}

export function rangeFrom(opts: { startTime?: number; endTime?: number }): TimeRange {
  const range: TimeRange = {}
  if (opts.startTime !== undefined) range.startTime = opts.startTime
  if (opts.endTime !== undefined) range.endTime = opts.endTime
  return range
}

export async function trainCommand(opts: TrainOptions, ctx: CliContext): Promise<void> {
  const started = performance.now()
  const alignPolicy = policyFrom(opts)
  const slidingWindow = opts.slidingWindow ?? MVAD_LIMITS.defaultSlidingWindow
  const table = await readTable(opts.input)
  const series = alignTable(table, alignPolicy, { range: rangeFrom(opts) })
  assertEnoughInput(series, slidingWindow, opts.input)
  const progress = createProgress('train', ctx.stderr as NodeJS.WriteStream)
  const fitStarted = performance.now()
  let fitted: ReturnType<typeof fitModel>
  try {
    fitted = fitModel(series, { slidingWindow }, { onProgress: (f, stage) => progress.update(f, stage) })
  } finally {
    progress.stop()
  }
  const file = modelFileForSeries(fitted, series, {
    source: opts.input,
    slidingWindow,
    alignPolicy,
    trainingSeconds: seconds(fitStarted),
  })
  await writeText(opts.out, `${JSON.stringify(file)}\n`)
  ctx.stderr.write(
    `trained on ${series.timestamps.length} rows × ${series.variables.length} variables ` +
      `(${file.modelInfo.startTime} … ${file.modelInfo.endTime}) in ${seconds(started)} s; model written to ${opts.out}\n`,
  )
}
