/**
 * MVAD v1.1 wire shapes from our stores (pure): AnomalyDetectionModel from a model version, a pending one from its
 * train command, MultivariateDetectionResult from a stored batch result or its pending command. Arrays MVAD always
 * sends (errors, variableStates, results, epoch lists) are always present; timestamps are `…Z` without fractions.
 */
import { DEFAULT_ALIGN_POLICY } from '../../domain/types.js'
import { formatIsoTimestamp, parseIsoTimestamp } from '../../data/timestamp.js'
import type { DetectBatchCommand, TrainCommand } from '../../control/commands.js'
import type { ModelVersionInfo } from '../../state/model-store.js'
import type { BatchResultRecord } from '../../state/result-store.js'

/** An ISO time as MVAD writes it (`2021-01-02T00:00:00Z`); the input when it is not a timestamp. */
export function mvadTime(text: string | undefined): string | undefined {
  if (text === undefined) return undefined
  const ms = parseIsoTimestamp(text)
  return ms === undefined ? text : formatIsoTimestamp(ms)
}

/** When a record was created or updated, as MVAD writes it: whole seconds (`2024-01-01T00:00:00Z`). */
export function mvadRecordTime(text: string | undefined): string | undefined {
  if (text === undefined) return undefined
  const ms = parseIsoTimestamp(text)
  return ms === undefined ? text : formatIsoTimestamp(Math.floor(ms / 1000) * 1000)
}

interface TrainingRequest {
  dataSource?: string
  dataSchema?: string
  startTime?: string
  endTime?: string
  alignPolicy?: Record<string, unknown>
}

interface Diagnostics {
  modelState?: {
    epochIds?: number[]
    trainLosses?: number[]
    validationLosses?: number[]
    latenciesInSeconds?: number[]
  }
  variableStates?: unknown[]
}

const EMPTY_MODEL_STATE = { epochIds: [], trainLosses: [], validationLosses: [], latenciesInSeconds: [] }

function modelInfo(
  request: TrainingRequest,
  fields: { displayName: string; slidingWindow: number; status: string; errors: unknown[]; diagnostics?: Diagnostics },
): Record<string, unknown> {
  const alignPolicy = { ...DEFAULT_ALIGN_POLICY, ...(request.alignPolicy ?? {}) }
  // MVAD always states the training period. A model trained without one (a whole file or topic range, a model
  // file uploaded) reads it from its variables' first and last timestamps.
  const period = periodOf(fields.diagnostics?.variableStates)
  return {
    dataSource: request.dataSource ?? '',
    dataSchema: request.dataSchema ?? 'OneTable',
    startTime: mvadTime(request.startTime ?? period?.startTime),
    endTime: mvadTime(request.endTime ?? period?.endTime),
    displayName: fields.displayName,
    slidingWindow: fields.slidingWindow,
    alignPolicy,
    status: fields.status,
    errors: fields.errors,
    diagnosticsInfo: {
      modelState: { ...EMPTY_MODEL_STATE, ...(fields.diagnostics?.modelState ?? {}) },
      variableStates: fields.diagnostics?.variableStates ?? [],
    },
  }
}

/** Earliest firstTimestamp and latest lastTimestamp of MVAD variableStates; undefined when they give none. */
function periodOf(variableStates: unknown[] | undefined): { startTime: string; endTime: string } | undefined {
  let first: number | undefined
  let last: number | undefined
  for (const state of variableStates ?? []) {
    const { firstTimestamp, lastTimestamp } = (state ?? {}) as { firstTimestamp?: unknown; lastTimestamp?: unknown }
    const a = typeof firstTimestamp === 'string' ? parseIsoTimestamp(firstTimestamp) : undefined
    const b = typeof lastTimestamp === 'string' ? parseIsoTimestamp(lastTimestamp) : undefined
    if (a !== undefined && (first === undefined || a < first)) first = a
    if (b !== undefined && (last === undefined || b > last)) last = b
  }
  return first === undefined || last === undefined
    ? undefined
    : { startTime: formatIsoTimestamp(first), endTime: formatIsoTimestamp(last) }
}

/** AnomalyDetectionModel of a stored version. */
export function modelToWire(info: ModelVersionInfo): Record<string, unknown> {
  return {
    modelId: info.modelId,
    createdTime: mvadRecordTime(info.createdTime),
    lastUpdatedTime: mvadRecordTime(info.lastUpdatedTime),
    modelInfo: modelInfo(info.trainingRequest ?? {}, {
      displayName: info.displayName,
      slidingWindow: info.slidingWindow,
      status: info.status,
      errors: info.errors,
      ...(info.diagnosticsInfo === undefined ? {} : { diagnostics: info.diagnosticsInfo as Diagnostics }),
    }),
  }
}

/** AnomalyDetectionModel of a train job that has not started yet (queued): CREATED. */
export function pendingModelToWire(
  command: TrainCommand,
  createdTime: string,
  dataSchema?: string,
): Record<string, unknown> {
  return {
    modelId: command.modelId,
    createdTime: mvadRecordTime(createdTime),
    lastUpdatedTime: mvadRecordTime(createdTime),
    modelInfo: modelInfo(
      {
        ...(command.dataSource === undefined ? {} : { dataSource: command.dataSource }),
        ...((dataSchema ?? command.dataSchema) === undefined ? {} : { dataSchema: dataSchema ?? command.dataSchema }),
        ...(command.startTime === undefined ? {} : { startTime: command.startTime }),
        ...(command.endTime === undefined ? {} : { endTime: command.endTime }),
        ...(command.alignPolicy === undefined ? {} : { alignPolicy: command.alignPolicy }),
      },
      {
        displayName: command.displayName ?? '',
        slidingWindow: command.slidingWindow ?? 300,
        status: 'CREATED',
        errors: [],
      },
    ),
  }
}

/** MultivariateDetectionResult of a stored batch result. */
export function resultToWire(record: BatchResultRecord): Record<string, unknown> {
  const { setupInfo } = record.summary
  return {
    resultId: record.resultId,
    summary: {
      status: record.summary.status,
      errors: record.summary.errors,
      variableStates: record.summary.variableStates,
      setupInfo: {
        dataSource: setupInfo.dataSource,
        topContributorCount: setupInfo.topContributorCount,
        startTime: mvadTime(setupInfo.startTime),
        endTime: mvadTime(setupInfo.endTime),
      },
    },
    results: record.results,
  }
}

/** MultivariateDetectionResult of a detect-batch job that has not written its result yet: CREATED. */
export function pendingResultToWire(command: DetectBatchCommand): Record<string, unknown> {
  return {
    resultId: command.jobId,
    summary: {
      status: 'CREATED',
      errors: [],
      variableStates: [],
      setupInfo: {
        dataSource: command.dataSource ?? '',
        topContributorCount: command.topContributorCount ?? 10,
        startTime: mvadTime(command.startTime),
        endTime: mvadTime(command.endTime),
      },
    },
    results: [],
  }
}
