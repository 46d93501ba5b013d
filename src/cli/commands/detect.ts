/** `mvad detect`: model.json + CSV → one MVAD AnomalyState per line (results.jsonl). */
import { alignForModel } from '../../data/inference.js'
import { readTable } from '../../data/files.js'
import { formatIsoTimestamp } from '../../data/timestamp.js'
import { ServiceError } from '../../errors.js'
import { createScorer } from '../../model/index.js'
import { detectBatch } from '../../pipeline/detect-batch.js'
import { assertWritable, readJson, writeResultsJsonl } from '../io.js'
import { fromModelFile } from '../model-file.js'
import { createProgress } from '../progress.js'
import { seconds, type CliContext } from './context.js'
import { rangeFrom } from './train.js'

export interface DetectOptions {
  model: string
  input: string
  out: string
  topContributors?: number
  startTime?: number
  endTime?: number
}

export async function detectCommand(opts: DetectOptions, ctx: CliContext): Promise<void> {
  const started = performance.now()
  const range = rangeFrom(opts)
  await assertWritable(opts.out, '--out', [opts.input, opts.model])
  const model = fromModelFile(await readJson(opts.model, 'model file'), opts.model)
  const table = await readTable(opts.input)
  // No range here: rows before --start-time are the history the first reported rows need.
  const series = alignForModel(table, model.variables, model.alignPolicy)
  const progress = createProgress('detect', ctx.stderr as NodeJS.WriteStream)
  let batch: ReturnType<typeof detectBatch>
  try {
    batch = detectBatch(createScorer(model.state), series, {
      slidingWindow: model.slidingWindow,
      topContributorCount: opts.topContributors ?? 10,
      range,
      onProgress: (f) => progress.update(f, 'scoring'),
      ...(model.trainingTail === undefined ? {} : { trainingTail: model.trainingTail }),
    })
  } finally {
    progress.stop()
  }
  const { results, usedTrainingTail } = batch
  const from = opts.startTime === undefined ? 'the start' : formatIsoTimestamp(opts.startTime)
  const to = opts.endTime === undefined ? 'the end' : formatIsoTimestamp(opts.endTime)
  if (results.length === 0) {
    throw new ServiceError('NoData', `${opts.input}: no rows between ${from} and ${to}`)
  }
  const unscored = results.filter((r) => r.value === undefined).length
  if (unscored === results.length) {
    const needed = `a row is scored with the ${model.slidingWindow - 1} rows before it (slidingWindow ${model.slidingWindow})`
    // As MVAD's NotEnoughInput, and the service's detect-batch: a results file of errors only is no result.
    const tail = batch.trainingTailGapMs === undefined ? '' : ' and it does not continue the training period'
    const firstScorable = series.timestamps[model.slidingWindow - 1]
    const ranged = opts.startTime !== undefined || opts.endTime !== undefined
    throw new ServiceError(
      'NotEnoughInput',
      ranged && firstScorable !== undefined
        ? `${opts.input}: no row between ${from} and ${to} can be scored: ${needed}; the first row with that history is ${formatIsoTimestamp(firstScorable)}${tail}`
        : `${opts.input}: no row can be scored: ${needed}, the input has ${series.timestamps.length} row${series.timestamps.length === 1 ? '' : 's'}${tail}`,
    )
  }
  await writeResultsJsonl(opts.out, results)
  const anomalies = results.filter((r) => r.value?.isAnomaly === true).length
  const history = usedTrainingTail
    ? ' (continuing from the training tail)'
    : batch.trainingTailGapMs !== undefined
      ? ` (the input starts ${formatDuration(batch.trainingTailGapMs)} after training ended, so it does not continue the training tail)`
      : ''
  const hint =
    unscored > 0
      ? `; ${unscored} rows lack history (InsufficientHistoricalData): include ${model.slidingWindow - 1} rows before the first row to score`
      : ''
  ctx.stderr.write(
    `scored ${results.length - unscored} of ${results.length} rows${history}: ${anomalies} anomalous${hint}; written to ${opts.out} in ${seconds(started)} s\n`,
  )
}

/** A gap for people: seconds, minutes, hours or days. */
function formatDuration(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1_000, 's'],
  ]
  for (const [size, unit] of units) if (ms >= size) return `${Number((ms / size).toFixed(1))} ${unit}`
  return `${ms} ms`
}
