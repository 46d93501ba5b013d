/**
 * The whole CPU-heavy part of a `train` job, run on a worker thread (train-worker.ts) so the scoring event loop
 * never waits for it: read and align a file source or align a topic range (fetched by the main thread, which owns
 * the Kafka client, and passed in packed; a Redis window comes as a series), attach labels, fit (or search parameters with labels), build the model file,
 * and render the optional training-score charts. Only small results go back: the model file JSON and summaries.
 */
import { readFile } from 'node:fs/promises'
import type { AlignPolicy, AlignedSeries, VariableState } from '../domain/types.js'
import type { TimeRange } from '../data/table.js'
import { ServiceError } from '../errors.js'
import { parseLabelsCsv } from '../eval/labels.js'
import { assertTrainingInput, createScorer, fitModel, tune, type ModelParams } from '../model/index.js'
import { detectBatch } from '../pipeline/detect-batch.js'
import { modelFileForSeries } from '../cli/model-file.js'
import { saveCharts } from './handlers/charts.js'
import { alignTopicRead, loadFileSource, type TopicRead } from './sources.js'

export type TrainInput =
  | { kind: 'series'; series: AlignedSeries; dataSource: string }
  | { kind: 'topic'; read: TopicRead; variables?: readonly string[]; range?: TimeRange }
  | { kind: 'file'; path: string; variables?: readonly string[]; range?: TimeRange }

export interface TrainTask {
  input: TrainInput
  alignPolicy: AlignPolicy
  params: Partial<ModelParams> & { slidingWindow: number }
  /** With labels (a `timestamp,label` CSV), the last `validationFraction` of the rows validate a parameter search. */
  labels?: { path: string; validationFraction: number }
  /** Training rows scored by the new model, charted as SVG and PNG in `dir`. */
  charts?: { dir: string; name: string; title: string }
}

export interface TrainOutcome {
  /** The model file (CLI envelope) as JSON: what the model store keeps. */
  modelFileJson: string
  variables: string[]
  rows: number
  variableStates: VariableState[]
  diagnostics: unknown
  trainingSeconds: number
  charts?: string[]
}

async function labelsFor(series: AlignedSeries, path: string): Promise<number[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new ServiceError('FileNotExist', `labels file ${path} cannot be read: ${(error as Error).message}`)
  }
  const truth = parseLabelsCsv(text, path)
  const byTime = new Map<number, number>()
  truth.timestamps.forEach((t, i) => byTime.set(t, truth.labels[i] ?? 0))
  return series.timestamps.map((t) => byTime.get(t) ?? 0)
}

function slice(series: AlignedSeries, from: number, to: number): AlignedSeries {
  return { ...series, timestamps: series.timestamps.slice(from, to), rows: series.rows.slice(from, to) }
}

/** Share of the rows a variable read from the readings topic must have values in, unless the command names it. */
const MIN_TOPIC_VARIABLE_COVERAGE = 0.1

/**
 * A topic holds whatever producers sent, including readings the stream dead-lettered (a misspelt variable, a
 * one-off test): as a model variable such a stray would be filled across the whole training range, and every frame
 * the stream scores would then wait for a variable that never comes. Refused, naming them; the command's
 * `variables` chooses explicitly.
 */
function refuseStrayVariables(series: AlignedSeries): void {
  const rows = series.timestamps.length
  const stray = series.variableStates.filter((v) => v.effectiveCount < MIN_TOPIC_VARIABLE_COVERAGE * rows)
  if (stray.length === 0) return
  const named = stray
    .slice(0, 10)
    .map((v) => `'${v.variable.length > 64 ? `${v.variable.slice(0, 64)}…` : v.variable}' (${v.effectiveCount})`)
  throw new ServiceError(
    'NoData',
    `variables with values in fewer than ${MIN_TOPIC_VARIABLE_COVERAGE * 100} % of the ${rows} timestamps: ${named.join(', ')}${stray.length > 10 ? ` and ${stray.length - 10} more` : ''}; list the variables to train on in the command's "variables"`,
  )
}

/** The task's input as an aligned series: a window's series as is, a topic range aligned, a file read and aligned. */
async function trainingSeries(
  task: TrainTask,
  progress: (fraction: number, stage: string) => void,
): Promise<{ series: AlignedSeries; dataSource: string }> {
  const { input } = task
  if (input.kind === 'series') return input
  const selection = {
    alignPolicy: task.alignPolicy,
    ...(input.variables === undefined ? {} : { variables: input.variables }),
    exactVariables: false,
    ...(input.range === undefined ? {} : { range: input.range }),
  }
  if (input.kind === 'topic') {
    const aligned = alignTopicRead(input.read, selection)
    if (input.variables === undefined) refuseStrayVariables(aligned.series)
    return aligned
  }
  return loadFileSource(input.path, { ...selection, onProgress: (f) => progress(0.3 * f, 'reading') })
}

/** Progress: 0–0.3 reading the source, 0.3–0.95 fitting, then the model file and charts. */
export async function runTrainTask(
  task: TrainTask,
  progress: (fraction: number, stage: string) => void,
): Promise<TrainOutcome> {
  const started = performance.now()
  const { series, dataSource } = await trainingSeries(task, progress)
  assertTrainingInput(series, task.params, 'training data')
  const fitProgress = (f: number, stage: string): void => progress(0.3 + 0.65 * f, stage)
  let fitted: { state: ReturnType<typeof fitModel>['state']; diagnostics: unknown }
  if (task.labels === undefined) {
    fitted = fitModel(series, task.params, { onProgress: fitProgress })
  } else {
    const labels = await labelsFor(series, task.labels.path)
    const n = series.rows.length
    const cut = Math.round(n * (1 - task.labels.validationFraction))
    fitProgress(0, 'parameter search')
    const result = tune(
      slice(series, 0, cut),
      slice(series, cut, n),
      labels.slice(cut, n),
      task.params,
      undefined,
      (f) => fitProgress(f, 'parameter search'),
    )
    fitted = {
      state: result.state,
      diagnostics: { tune: { best: result.best, grid: result.grid, trainRows: cut, validationRows: n - cut } },
    }
  }
  const trainingSeconds = (performance.now() - started) / 1000
  const file = modelFileForSeries(fitted, series, {
    source: dataSource,
    slidingWindow: task.params.slidingWindow,
    alignPolicy: task.alignPolicy,
    trainingSeconds,
  })
  let charts: string[] | undefined
  if (task.charts !== undefined) {
    progress(0.95, 'charts')
    const scored = detectBatch(createScorer(fitted.state), series, { slidingWindow: task.params.slidingWindow })
    charts = await saveCharts(task.charts.dir, task.charts.name, task.charts.title, scored.results)
  }
  return {
    modelFileJson: JSON.stringify(file),
    variables: [...series.variables],
    rows: series.rows.length,
    variableStates: [...series.variableStates],
    diagnostics: fitted.diagnostics,
    trainingSeconds,
    ...(charts === undefined ? {} : { charts }),
  }
}
