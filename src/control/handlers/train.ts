/**
 * `train` job: a new model version CREATED at once (so the model is visible while it trains) → RUNNING → read the
 * source (0–30 %) → fit (30–95 %; with labels: parameter search on a validation split) → READY with the CLI's
 * model-file envelope as its state (alignment policy and training tail included), or FAILED with the error.
 * Optional charts: the training rows scored by the new model. Everything CPU-heavy — reading and aligning a file,
 * fitting, the model file, charts — runs on a worker thread (training-task.ts); this thread only reads topic
 * ranges (its Kafka client) and writes the stores, so live scoring keeps its latency while a job trains.
 */
import { resolveAlignPolicy } from '../../data/align.js'
import { MVAD_LIMITS } from '../../data/limits.js'
import { formatIsoTimestamp } from '../../data/timestamp.js'
import { ServiceError } from '../../errors.js'
import { resolveParams } from '../../model/index.js'
import type { JobRecord } from '../../state/job-store.js'
import type { TrainCommand } from '../commands.js'
import type { JobContext, JobHandler } from '../job-runner.js'
import { assertFileAllowed, describeSource, parseTime, readTopicSource } from '../sources.js'
import { loadWindowSource } from '../window-source.js'
import { trainInWorker } from '../train-in-worker.js'
import type { TrainInput, TrainOutcome } from '../training-task.js'
import { inRequestTerms, type HandlerDeps } from './deps.js'

export interface TrainJobResult {
  modelId: string
  version: number
  variables?: string[]
  rows?: number
  trainingSeconds?: number
  charts?: string[]
}

function diagnosticsInfo({ variableStates, diagnostics, trainingSeconds: seconds }: TrainOutcome): unknown {
  const iso = (t: number | null): string | null => (t === null ? null : formatIsoTimestamp(t))
  const rms = (diagnostics as { forecastResidualRms?: number[] }).forecastResidualRms ?? []
  const loss = rms.length === 0 ? 0 : rms.reduce((a, b) => a + b * b, 0) / rms.length
  return {
    // MVAD's shape: one "epoch" (closed-form fit), its loss = mean squared normalised forecast residual.
    modelState: { epochIds: [1], trainLosses: [loss], validationLosses: [], latenciesInSeconds: [seconds] },
    variableStates: variableStates.map((v) => ({
      ...v,
      firstTimestamp: iso(v.firstTimestamp),
      lastTimestamp: iso(v.lastTimestamp),
    })),
    training: diagnostics,
  }
}

export function trainHandler(deps: HandlerDeps): JobHandler {
  return {
    async run(raw, context: JobContext): Promise<TrainJobResult> {
      const command = raw as TrainCommand
      const alignPolicy = resolveAlignPolicy(command.alignPolicy ?? {})
      const slidingWindow = command.slidingWindow ?? MVAD_LIMITS.defaultSlidingWindow
      const params = { ...(command.params ?? {}), slidingWindow }
      resolveParams(params) // InvalidSlidingWindow / InvalidModelState before any work
      if (command.source.kind === 'file') await assertFileAllowed(command.source.path, 'source.path', deps)
      if (command.labels !== undefined) await assertFileAllowed(command.labels.path, 'labels.path', deps)
      const range = {
        ...(command.startTime === undefined ? {} : { startTime: parseTime(command.startTime, 'startTime') as number }),
        ...(command.endTime === undefined ? {} : { endTime: parseTime(command.endTime, 'endTime') as number }),
      }
      const created = await deps.models.createVersion(command.modelId, {
        ...(command.displayName === undefined ? {} : { displayName: command.displayName }),
        variables: command.variables ?? [],
        slidingWindow,
        jobId: command.jobId,
        trainingRequest: {
          source: command.source,
          dataSource: command.dataSource ?? describeSource(command.source, deps.readingsTopic),
          ...(command.dataSchema === undefined ? {} : { dataSchema: command.dataSchema }),
          startTime: command.startTime,
          endTime: command.endTime,
          alignPolicy,
          params: command.params ?? {},
        },
      })
      const { modelId, version } = created
      await context.setResult({ modelId, version } satisfies TrainJobResult)
      try {
        await deps.models.updateVersion(modelId, version, { status: 'RUNNING' })
        // A file is read and a topic range aligned on the worker thread; the range is fetched here, where the Kafka
        // client is, and so is a Redis window.
        const variables = command.variables === undefined ? {} : { variables: command.variables }
        const source = command.source
        let input: TrainInput
        if (source.kind === 'file') {
          input = { kind: 'file', path: source.path, ...variables, range }
        } else if (source.kind === 'topic') {
          const onRead = (f: number): void => void context.progress(0.3 * f)
          const read = await readTopicSource(source, { signal: context.signal, onProgress: onRead }, deps)
          input = { kind: 'topic', read, ...variables, range }
        } else {
          const window = await loadWindowSource(source.entity, { ...variables, exactVariables: false, range }, deps)
          input = { kind: 'series', ...window }
        }
        context.throwIfCanceled()
        const trained = await trainInWorker(
          {
            input,
            alignPolicy,
            params,
            ...(command.labels === undefined
              ? {}
              : {
                  labels: {
                    path: command.labels.path,
                    validationFraction: command.labels.validationFraction ?? 0.3,
                  },
                }),
            ...(command.charts === true
              ? {
                  charts: {
                    dir: deps.chartsDir,
                    name: `${command.jobId}-training`,
                    title: `Training scores — ${modelId} v${version}`,
                  },
                }
              : {}),
          },
          context.signal,
          (fraction) => void context.progress(fraction),
        )
        context.throwIfCanceled()
        const ready = await deps.models.updateVersion(
          modelId,
          version,
          {
            status: 'READY',
            variables: trained.variables,
            diagnosticsInfo: diagnosticsInfo(trained),
          },
          trained.modelFileJson,
        )
        if (ready === undefined)
          throw new ServiceError('ModelNotExist', `model ${modelId} was deleted while version ${version} trained`)
        return {
          modelId,
          version,
          variables: trained.variables,
          rows: trained.rows,
          trainingSeconds: Math.round(trained.trainingSeconds * 1000) / 1000,
          ...(trained.charts === undefined ? {} : { charts: trained.charts }),
        }
      } catch (error) {
        const failure = inRequestTerms(context.failureOf(error), command)
        // A FAILED write that fails too (Redis away) must not hide why the job failed: the job's error keeps the
        // cause and says the version was left as it was.
        await deps.models
          .updateVersion(modelId, version, {
            status: 'FAILED',
            errors: [{ code: failure.code, message: failure.message }],
          })
          .catch((writeError: unknown) => {
            throw new ServiceError(
              failure.code,
              `${failure.message} (model ${modelId} version ${version} could not be marked FAILED: ${String(writeError)})`,
              { cause: failure },
            )
          })
        throw failure
      }
    },

    /**
     * The version of a job its instance never finished is FAILED too. Found by the job's result, or — when the
     * instance died between making the version and recording it there — by the jobId the version carries.
     */
    async interrupted(record: JobRecord): Promise<void> {
      const result = record.result as Partial<TrainJobResult> | undefined
      const modelId = result?.modelId ?? (record.command as Partial<TrainCommand> | undefined)?.modelId
      if (modelId === undefined) return
      const version =
        result?.version ?? (await deps.models.listVersions(modelId)).find((v) => v.jobId === record.jobId)?.version
      if (version === undefined) return
      await deps.models.updateVersion(modelId, version, { status: 'FAILED', errors: record.errors })
    },
  }
}
