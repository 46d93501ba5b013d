/**
 * `mvad tune`: fit on --train, score --validation (continuing from the training tail) over the model's parameter
 * grid, keep the parameters with the best point-wise F1 of isAnomaly against --labels, write that model.
 */
import type { AlignPolicy } from '../../domain/types.js'
import { alignTable } from '../../data/align.js'
import { readTable } from '../../data/files.js'
import { alignForModel } from '../../data/inference.js'
import { formatIsoTimestamp } from '../../data/timestamp.js'
import { parseLabelsCsv } from '../../eval/labels.js'
import { DEFAULT_TUNE_GRID, assertTrainingInput, tune } from '../../model/index.js'
import { ServiceError } from '../../errors.js'
import { assertWritable, readText, writeText } from '../io.js'
import type { ParamArgs } from '../options.js'
import { toModelFile } from '../model-file.js'
import { createProgress } from '../progress.js'
import { seconds, type CliContext } from './context.js'
import { modelParamsFrom, policyFrom } from './train.js'

export interface TuneOptions {
  train: string
  validation: string
  labels: string
  out: string
  slidingWindow?: number
  /** `--param name=value` (repeatable): model parameters the search starts from (it varies its own on top). */
  param?: ParamArgs
  alignMode?: AlignPolicy['alignMode']
  fillNaMethod?: AlignPolicy['fillNAMethod']
  paddingValue?: number
}

export async function tuneCommand(opts: TuneOptions, ctx: CliContext): Promise<void> {
  const started = performance.now()
  const alignPolicy = policyFrom(opts)
  const params = modelParamsFrom(opts)
  const slidingWindow = params.slidingWindow
  await assertWritable(opts.out, '--out', [opts.train, opts.validation, opts.labels])
  const train = alignTable(await readTable(opts.train), alignPolicy)
  assertTrainingInput(train, params, opts.train)
  const validation = alignForModel(await readTable(opts.validation), train.variables, alignPolicy)
  const truth = parseLabelsCsv(await readText(opts.labels, 'labels file'), opts.labels)
  const byTime = new Map<number, number>()
  truth.timestamps.forEach((t, i) => byTime.set(t, truth.labels[i] ?? 0))
  let unlabelled = 0
  const labels = validation.timestamps.map((t) => {
    const label = byTime.get(t)
    if (label === undefined) unlabelled++
    return label ?? 0
  })
  if (unlabelled > 0) {
    ctx.stderr.write(`warning: ${unlabelled} validation rows have no label in ${opts.labels}; counted as normal\n`)
  }
  if (!labels.includes(1)) {
    throw new ServiceError(
      'NoData',
      `${opts.labels}: none of the ${labels.length} rows of ${opts.validation} is labelled anomalous (1)${unlabelled === labels.length ? ' (no row has a label at all: do the files cover the same period?)' : ''}; tune compares parameters by their F1 on labelled anomalies`,
    )
  }
  const progress = createProgress('tune', ctx.stderr as NodeJS.WriteStream)
  progress.update(0, 'fitting the parameter grid')
  let result: ReturnType<typeof tune>
  try {
    // Only the parameters given (and the window) are fixed: the search varies the grid's others.
    const fixed = { ...opts.param?.values, slidingWindow }
    result = tune(train, validation, labels, fixed, DEFAULT_TUNE_GRID, (done, total) =>
      progress.update(done / total, `${done} of ${total} candidates`),
    )
  } finally {
    progress.stop()
  }
  const first = train.timestamps[0] ?? 0
  const last = train.timestamps[train.timestamps.length - 1] ?? 0
  const file = toModelFile(
    result.state,
    { tune: { best: result.best, grid: result.grid } },
    {
      source: opts.train,
      slidingWindow,
      alignPolicy,
      startTime: formatIsoTimestamp(first),
      endTime: formatIsoTimestamp(last),
      trainingEnd: formatIsoTimestamp(last),
      variableStates: train.variableStates,
      trainingSeconds: seconds(started),
    },
  )
  await writeText(opts.out, `${JSON.stringify(file)}\n`)
  for (const c of result.grid) {
    ctx.stdout.write(
      `F1 ${c.f1.toFixed(3)}  P ${c.precision.toFixed(3)}  R ${c.recall.toFixed(3)}  ${JSON.stringify(c.params)}\n`,
    )
  }
  ctx.stderr.write(
    `best F1 ${result.best.f1.toFixed(3)} of ${result.grid.length} candidates in ${seconds(started)} s; model written to ${opts.out}\n`,
  )
}
