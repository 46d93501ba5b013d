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
import { MVAD_LIMITS } from '../../data/limits.js'
import { ServiceError } from '../../errors.js'
import { toWireAnomalyState } from '../../pipeline/result-json.js'
import { fromModelFile } from '../../cli/model-file.js'
import type { ModelStore } from '../../state/model-store.js'
import type { BatchResultRecord, BatchSummary } from '../../state/result-store.js'
import type { DetectBatchCommand } from '../commands.js'
import type { JobContext, JobHandler } from '../job-runner.js'
import type { JobRecord } from '../../state/job-store.js'
import { scoreInWorker } from '../score-in-worker.js'
import type { ScoreTask } from '../score-task.js'
import { assertFileAllowed, describeSource, parseTime, readTopicSource, topicFailedRecords } from '../sources.js'
import { loadWindowSource } from '../window-source.js'
import { saveCharts } from './charts.js'
import { inRequestTerms, type HandlerDeps } from './deps.js'

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

/** Retries `what` (retryCount of the command), but not once the job was canceled: a cancel must not wait them out. */
async function withRetries<T>(retries: number, what: () => Promise<T>, context?: JobContext): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await what()
    } catch (error) {
      if (attempt >= retries || context?.signal.aborted === true) throw error
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
      const reserved = deps.reservedTopics?.find((t) => t.topic === command.output?.topic)
      if (reserved !== undefined) {
        throw new ServiceError(
          'InvalidRequestParameterError',
          `output.topic ${reserved.topic} is the service's ${reserved.role} topic; name a topic of its own for the rows`,
        )
      }
      if (command.source.kind === 'file') await assertFileAllowed(command.source.path, 'source.path', deps)
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
        // Everything CPU-heavy — reading a file, aligning a topic range, the input checks, scoring — runs on a
        // worker thread (score-task.ts); a topic range and a Redis window are fetched here, where the clients are.
        const onRead = (f: number): void => void context.progress(0.2 * f)
        let source: ScoreTask['source']
        if (command.source.kind === 'file') {
          source = {
            kind: 'file',
            path: command.source.path,
            alignPolicy: model.alignPolicy,
            variables: model.variables,
          }
        } else if (command.source.kind === 'topic') {
          const read = await readTopicSource(command.source, { signal: context.signal, onProgress: onRead }, deps)
          source = { kind: 'topic', read, alignPolicy: model.alignPolicy, variables: model.variables }
          // Recorded now, so a job the checks fail still lists the records that failed.
          record.summary.setupInfo.dataSource = read.dataSource
          record.failedRecords = topicFailedRecords(read, model.variables)
        } else {
          const window = await loadWindowSource(
            command.source.entity,
            { variables: model.variables, exactVariables: true },
            deps,
          )
          source = { kind: 'loaded', loaded: { ...window, failedRecords: [] } }
          record.summary.setupInfo.dataSource = window.dataSource
        }
        context.throwIfCanceled()
        const { results, ...outcome } = await scoreInWorker(
          {
            state: model.state,
            source,
            startTime,
            endTime,
            errorThreshold,
            chunkRows,
            slidingWindow: model.slidingWindow,
            topContributorCount: topN,
            ...(model.trainingTail === undefined ? {} : { trainingTail: model.trainingTail }),
          },
          context.signal,
          // The task's first 0.2 is reading a file, which for other sources happened above: 0.2 → 0.95 either way.
          (fraction) => void context.progress(0.2 + (0.75 * (fraction - 0.2)) / 0.8),
        )
        // A REST request's dataSource is echoed as given, not the server folder it was fetched or unpacked to.
        record.summary.setupInfo.dataSource = command.dataSource ?? outcome.dataSource
        record.failedRecords = outcome.failedRecords
        record.summary.variableStates = outcome.variableStates
        const warnings = outcome.warnings
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
            context.throwIfCanceled()
            const slice = messages.slice(k, k + 1000)
            await withRetries(retries, () => deps.resultsSink.publish(outputTopic, slice), context)
          }
        }
        await save({ status: 'READY' })
        return {
          resultId: command.jobId,
          modelId: command.modelId,
          modelVersion: version,
          rows: wire.length,
          anomalies: results.filter((r) => r.value?.isAnomaly === true).length,
          failedRecords: outcome.failedRecords.length,
          warnings,
          ...(record.charts === undefined ? {} : { charts: record.charts }),
        }
      } catch (error) {
        const failure = inRequestTerms(context.failureOf(error), command)
        record.results = []
        await save({ status: 'FAILED', errors: [{ code: failure.code, message: failure.message }] }).catch(
          () => undefined,
        )
        throw failure
      }
    },

    /** The stored result of a job its instance never finished says so, as the job does (it said RUNNING). */
    async interrupted(record: JobRecord): Promise<void> {
      const stored = await deps.results.get(record.jobId)
      if (stored?.summary.status !== 'RUNNING') return
      await deps.results.put(
        { ...stored, results: [], summary: { ...stored.summary, status: 'FAILED', errors: record.errors } },
        deps.resultTtlSeconds,
      )
    },
  }
}
