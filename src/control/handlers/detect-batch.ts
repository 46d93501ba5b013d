/**
 * `detect-batch` job (batch replay): the live pipeline's numerics with another source and sink. The model's READY
 * state → the source aligned as the model was trained (file) or as the stream aligns (topic) → rows of
 * [startTime, endTime] scored in mini-batches on a worker thread (score-task.ts) with the same scorer as
 * detect-last (training tail as history when the data continues training) → MVAD result `{resultId = jobId,
 * summary, results}` stored for resultTtlSeconds and/or published to a results topic, each row stamped with the
 * model version.
 * Limits as MVAD: at least one sliding window of data, at most 20,000 timestamps; 150,000 data points advised.
 * Failed input records (undecodable readings, unknown variables) are listed in the result; more than
 * `errorThreshold` of them (−1 = no limit) fails the job.
 */
import { rangeIndices } from '../../data/align.js'
import { assertEnoughInput } from '../../data/inference.js'
import { MVAD_LIMITS } from '../../data/limits.js'
import { formatIsoTimestamp } from '../../data/timestamp.js'
import { ServiceError, toServiceError } from '../../errors.js'
import { toWireAnomalyState } from '../../pipeline/result-json.js'
import { fromModelFile } from '../../cli/model-file.js'
import type { ModelStore } from '../../state/model-store.js'
import type { BatchResultRecord, BatchSummary } from '../../state/result-store.js'
import type { DetectBatchCommand } from '../commands.js'
import type { JobContext, JobHandler } from '../job-runner.js'
import { scoreInWorker } from '../score-in-worker.js'
import { describeSource, loadSource, parseTime } from '../sources.js'
import { saveCharts } from './charts.js'
import type { HandlerDeps } from './deps.js'

export const MAX_BATCH_TIMESTAMPS = 20_000
export const ADVISED_BATCH_POINTS = 150_000

export interface DetectBatchJobResult {
  resultId: string
  modelId: string
  modelVersion: number
  rows: number
  anomalies: number
  failedRecords: number
  warnings: string[]
  charts?: string[]
}

/** The READY state of a model version, or the MVAD error saying why there is none. */
export async function readyModel(
  models: ModelStore,
  modelId: string,
  version?: number,
): Promise<{ stateJson: string; version: number; variables: readonly string[] }> {
  const ready = await models.getReadyState(modelId, version)
  if (ready !== undefined)
    return { stateJson: ready.stateJson, version: ready.info.version, variables: ready.info.variables }
  const info = await models.getInfo(modelId, version)
  if (info === undefined) {
    throw new ServiceError(
      'ModelNotExist',
      `model ${modelId}${version === undefined ? '' : ` version ${version}`} does not exist`,
    )
  }
  if (info.status === 'FAILED')
    throw new ServiceError('ModelFailed', `model ${modelId} version ${info.version} failed to train`)
  throw new ServiceError('ModelNotReady', `model ${modelId} version ${info.version} is ${info.status}, not READY yet`)
}

async function withRetries<T>(retries: number, what: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await what()
    } catch (error) {
      if (attempt >= retries) throw error
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt))
    }
  }
}

export function detectBatchHandler(deps: HandlerDeps): JobHandler {
  return {
    async run(raw, context: JobContext): Promise<DetectBatchJobResult> {
      const command = raw as DetectBatchCommand
      const topN = command.topContributorCount ?? MVAD_LIMITS.defaultTopContributors
      if (!Number.isInteger(topN) || topN < MVAD_LIMITS.minTopContributors || topN > MVAD_LIMITS.maxTopContributors) {
        throw new ServiceError(
          'InvalidTopContributorCount',
          `topContributorCount must be an integer in [1, 30], got ${topN}`,
        )
      }
      const startTime = parseTime(command.startTime, 'startTime') as number
      const endTime = parseTime(command.endTime, 'endTime') as number
      if (startTime > endTime) {
        throw new ServiceError(
          'InvalidRequestParameterError',
          `startTime ${command.startTime} is after endTime ${command.endTime}`,
        )
      }
      const retries = command.options?.retryCount ?? 3
      const chunkRows = command.options?.miniBatchSize ?? 1000
      const errorThreshold = command.options?.errorThreshold ?? -1
      const store = command.output?.store ?? true
      const { stateJson, version } = await readyModel(deps.models, command.modelId, command.version)
      const model = fromModelFile(JSON.parse(stateJson), `${command.modelId} version ${version}`)
      const record: BatchResultRecord = {
        resultId: command.jobId,
        modelId: command.modelId,
        modelVersion: version,
        summary: {
          status: 'RUNNING',
          errors: [],
          variableStates: [],
          setupInfo: {
            dataSource: command.dataSource ?? describeSource(command.source, deps.readingsTopic),
            topContributorCount: topN,
            startTime: command.startTime,
            endTime: command.endTime,
          },
        },
        results: [],
      }
      const save = async (summary: Partial<BatchSummary>): Promise<void> => {
        if (!store) return
        record.summary = { ...record.summary, ...summary }
        await withRetries(retries, () => deps.results.put(record, deps.resultTtlSeconds))
      }
      await save({})
      try {
        const loaded = await loadSource(
          command.source,
          {
            alignPolicy: model.alignPolicy,
            variables: model.variables,
            exactVariables: true,
            signal: context.signal,
            onProgress: (f) => void context.progress(0.2 * f),
          },
          deps,
        )
        const { series } = loaded
        record.summary.setupInfo.dataSource = loaded.dataSource
        record.failedRecords = loaded.failedRecords
        if (errorThreshold >= 0 && loaded.failedRecords.length > errorThreshold) {
          throw new ServiceError(
            'ErrorThresholdExceeded',
            `${loaded.failedRecords.length} input records failed (errorThreshold ${errorThreshold}); the first: ${JSON.stringify(loaded.failedRecords[0])}`,
          )
        }
        assertEnoughInput(series, model.slidingWindow, loaded.dataSource)
        const [lo, hi] = rangeIndices(series.timestamps, { startTime, endTime })
        if (hi <= lo)
          throw new ServiceError(
            'NoData',
            `no data between ${command.startTime} and ${command.endTime} in ${loaded.dataSource}`,
          )
        if (hi - lo > MAX_BATCH_TIMESTAMPS) {
          throw new ServiceError(
            'DataExceedsLimit',
            `${hi - lo} timestamps between startTime and endTime; detect-batch takes at most ${MAX_BATCH_TIMESTAMPS}`,
          )
        }
        const warnings: string[] = []
        const points = (hi - lo) * series.variables.length
        if (points > ADVISED_BATCH_POINTS)
          warnings.push(`${points} data points exceed the advised ${ADVISED_BATCH_POINTS} per call`)
        record.summary.variableStates = series.variableStates.map((v) => ({
          ...v,
          firstTimestamp: v.firstTimestamp === null ? null : formatIsoTimestamp(v.firstTimestamp),
          lastTimestamp: v.lastTimestamp === null ? null : formatIsoTimestamp(v.lastTimestamp),
        }))
        await save({})
        context.throwIfCanceled()
        // Scoring runs on a worker thread: interpreting every anomalous row of a long range would otherwise hold
        // the event loop that scores live data for hundreds of milliseconds per mini-batch.
        // Only the rows it reads go to the thread (a copy): the range and one window before it. A row's result
        // depends on its window alone, so nothing changes; the training tail matters only when the range starts
        // less than a window into the data.
        const from = Math.max(0, lo - model.slidingWindow)
        const results = await scoreInWorker(
          {
            state: model.state,
            series: { ...series, timestamps: series.timestamps.slice(from, hi), rows: series.rows.slice(from, hi) },
            lo: lo - from,
            hi: hi - from,
            chunkRows,
            slidingWindow: model.slidingWindow,
            topContributorCount: topN,
            ...(model.trainingTail === undefined || from > 0 ? {} : { trainingTail: model.trainingTail }),
          },
          context.signal,
          (fraction) => void context.progress(0.2 + 0.75 * fraction),
        )
        const wire = results.map(toWireAnomalyState)
        record.results = wire
        if (command.charts === true) {
          record.charts = await saveCharts(
            deps.chartsDir,
            command.jobId,
            `detect-batch ${command.jobId} — ${command.modelId} v${version}`,
            results,
          )
        }
        const outputTopic = command.output?.topic
        if (outputTopic !== undefined) {
          const messages = wire.map((row) => ({
            key: command.jobId,
            value: JSON.stringify({ resultId: command.jobId, modelId: command.modelId, modelVersion: version, ...row }),
          }))
          for (let k = 0; k < messages.length; k += 1000) {
            const slice = messages.slice(k, k + 1000)
            await withRetries(retries, () => deps.resultsSink.publish(outputTopic, slice))
          }
        }
        await save({ status: 'READY' })
        return {
          resultId: command.jobId,
          modelId: command.modelId,
          modelVersion: version,
          rows: wire.length,
          anomalies: results.filter((r) => r.value?.isAnomaly === true).length,
          failedRecords: loaded.failedRecords.length,
          warnings,
          ...(record.charts === undefined ? {} : { charts: record.charts }),
        }
      } catch (error) {
        const failure = context.signal.aborted
          ? new ServiceError('JobCanceled', 'the job was canceled')
          : toServiceError(error, 'UnexpectedError')
        record.results = []
        await save({ status: 'FAILED', errors: [{ code: failure.code, message: failure.message }] }).catch(
          () => undefined,
        )
        throw failure
      }
    },
  }
}
