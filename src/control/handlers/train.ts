/**
 * `train` job: a new model version CREATED at once (so the model is visible while it trains) → RUNNING → read the
 * source (0–30 %) → fit on a worker thread (30–95 %; with labels: parameter search on a validation split) → READY
 * with the CLI's model-file envelope as its state (alignment policy and training tail included), or FAILED with the
 * error. Optional charts: the training rows scored by the new model.
 */
import type { AlignedSeries } from '../../domain/types.js'
import { resolveAlignPolicy } from '../../data/align.js'
import { assertEnoughInput } from '../../data/inference.js'
import { MVAD_LIMITS } from '../../data/limits.js'
import { formatIsoTimestamp } from '../../data/timestamp.js'
import { ServiceError, toServiceError } from '../../errors.js'
import { parseLabelsCsv } from '../../eval/labels.js'
import { createScorer, resolveParams } from '../../model/index.js'
import { detectBatch } from '../../pipeline/detect-batch.js'
import { modelFileForSeries } from '../../cli/model-file.js'
import { readFile } from 'node:fs/promises'
import type { JobRecord } from '../../state/job-store.js'
import type { TrainCommand } from '../commands.js'
import type { JobContext, JobHandler } from '../job-runner.js'
import { loadSource, parseTime } from '../sources.js'
import { trainInWorker } from '../train-in-worker.js'
import { saveCharts } from './charts.js'
import type { HandlerDeps } from './deps.js'

export interface TrainJobResult {
  modelId: string
  version: number
  variables?: string[]
  rows?: number
  trainingSeconds?: number
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

function diagnosticsInfo(series: AlignedSeries, diagnostics: unknown, seconds: number): unknown {
  const iso = (t: number | null): string | null => (t === null ? null : formatIsoTimestamp(t))
  const rms = (diagnostics as { forecastResidualRms?: number[] }).forecastResidualRms ?? []
  const loss = rms.length === 0 ? 0 : rms.reduce((a, b) => a + b * b, 0) / rms.length
  return {
    // MVAD's shape: one "epoch" (closed-form fit), its loss = mean squared normalised forecast residual.
    modelState: { epochIds: [1], trainLosses: [loss], validationLosses: [], latenciesInSeconds: [seconds] },
    variableStates: series.variableStates.map((v) => ({
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
        const started = performance.now()
        const { series } = await loadSource(
          command.source,
          {
            alignPolicy,
            ...(command.variables === undefined ? {} : { variables: command.variables }),
            exactVariables: false,
            range,
            signal: context.signal,
            onProgress: (f) => void context.progress(0.3 * f),
          },
          deps,
        )
        assertEnoughInput(series, slidingWindow, 'training data')
        context.throwIfCanceled()
        await deps.models.updateVersion(modelId, version, { status: 'RUNNING', variables: [...series.variables] })
        const labels =
          command.labels === undefined
            ? undefined
            : {
                labels: await labelsFor(series, command.labels.path),
                validationFraction: command.labels.validationFraction ?? 0.3,
              }
        const fitted = await trainInWorker(
          { series, params, ...(labels === undefined ? {} : { labels }) },
          context.signal,
          (fraction) => void context.progress(0.3 + 0.65 * fraction),
        )
        const seconds = (performance.now() - started) / 1000
        const file = modelFileForSeries(fitted, series, {
          source:
            command.source.kind === 'file'
              ? command.source.path
              : `kafka://${command.source.topic ?? deps.readingsTopic}/${command.source.entity}`,
          slidingWindow,
          alignPolicy,
          trainingSeconds: seconds,
        })
        let charts: string[] | undefined
        if (command.charts === true) {
          const scored = detectBatch(createScorer(fitted.state), series, { slidingWindow }).results
          charts = await saveCharts(
            deps.chartsDir,
            `${command.jobId}-training`,
            `Training scores — ${modelId} v${version}`,
            scored,
          )
        }
        context.throwIfCanceled()
        const ready = await deps.models.updateVersion(
          modelId,
          version,
          {
            status: 'READY',
            variables: [...series.variables],
            diagnosticsInfo: diagnosticsInfo(series, fitted.diagnostics, seconds),
          },
          JSON.stringify(file),
        )
        if (ready === undefined)
          throw new ServiceError('ModelNotExist', `model ${modelId} was deleted while version ${version} trained`)
        return {
          modelId,
          version,
          variables: [...series.variables],
          rows: series.rows.length,
          trainingSeconds: seconds,
          ...(charts === undefined ? {} : { charts }),
        }
      } catch (error) {
        const failure = context.signal.aborted
          ? new ServiceError('JobCanceled', 'the job was canceled')
          : toServiceError(error, 'UnexpectedError')
        await deps.models.updateVersion(modelId, version, {
          status: 'FAILED',
          errors: [{ code: failure.code, message: failure.message }],
        })
        throw failure
      }
    },

    async interrupted(record: JobRecord): Promise<void> {
      const result = record.result as Partial<TrainJobResult> | undefined
      if (result?.modelId === undefined || result.version === undefined) return
      await deps.models.updateVersion(result.modelId, result.version, { status: 'FAILED', errors: record.errors })
    },
  }
}
