/**
 * Format: the CLI's model file (`model.json`), a versioned envelope around the model state so `detect` can reuse
 * the training alignment policy and know where training ended:
 * `{ "format": "mvad-stream/model-file", "version": 1, "modelInfo": {...}, "diagnostics": {...}, "state": ModelState }`.
 * A bare model state (no envelope) is accepted too, with MVAD default alignment.
 */
import { DEFAULT_ALIGN_POLICY, type AlignPolicy, type VariableState } from '../domain/types.js'
import { ServiceError } from '../errors.js'
import { resolveAlignPolicy } from '../data/align.js'
import { formatIsoTimestamp, parseIsoTimestamp } from '../data/timestamp.js'
import type { TrainingTail } from '../pipeline/detect-batch.js'
import { loadModelState, type ModelState } from '../model/index.js'

export const MODEL_FILE_FORMAT = 'mvad-stream/model-file'

export interface ModelFileInfo {
  source: string
  slidingWindow: number
  alignPolicy: AlignPolicy
  startTime: string
  endTime: string
  /** Timestamp of the last training row: the training tail in the state ends here. */
  trainingEnd: string
  variableStates: (Omit<VariableState, 'firstTimestamp' | 'lastTimestamp'> & {
    firstTimestamp: string | null
    lastTimestamp: string | null
  })[]
  trainingSeconds: number
}

export interface ModelFile {
  format: typeof MODEL_FILE_FORMAT
  version: 1
  modelInfo: ModelFileInfo
  diagnostics: unknown
  state: ModelState
}

export interface LoadedModel {
  state: ModelState
  variables: readonly string[]
  slidingWindow: number
  alignPolicy: AlignPolicy
  trainingTail?: TrainingTail
}

export function toModelFile(
  state: ModelState,
  diagnostics: unknown,
  info: Omit<ModelFileInfo, 'variableStates'> & { variableStates: readonly VariableState[] },
): ModelFile {
  const iso = (t: number | null): string | null => (t === null ? null : formatIsoTimestamp(t))
  const variableStates = info.variableStates.map((v) => ({
    ...v,
    firstTimestamp: iso(v.firstTimestamp),
    lastTimestamp: iso(v.lastTimestamp),
  }))
  return { format: MODEL_FILE_FORMAT, version: 1, modelInfo: { ...info, variableStates }, diagnostics, state }
}

/** The model file of a model fitted on `series` (CLI `train`, the control plane's train job). */
export function modelFileForSeries(
  fitted: { state: ModelState; diagnostics: unknown },
  series: { timestamps: readonly number[]; variableStates: readonly VariableState[] },
  info: { source: string; slidingWindow: number; alignPolicy: AlignPolicy; trainingSeconds: number },
): ModelFile {
  const first = formatIsoTimestamp(series.timestamps[0] ?? 0)
  const last = formatIsoTimestamp(series.timestamps[series.timestamps.length - 1] ?? 0)
  return toModelFile(fitted.state, fitted.diagnostics, {
    ...info,
    startTime: first,
    endTime: last,
    trainingEnd: last,
    variableStates: series.variableStates,
  })
}

/**
 * What a model file (the envelope `mvad train` writes) says about its training, in the model store's terms: the
 * request (source, period, align policy) and the variable states, so a model uploaded from a file reads as MVAD
 * describes a trained model (REST GET model). Empty for a bare state.
 */
export function modelFileProvenance(json: unknown): { trainingRequest?: unknown; diagnosticsInfo?: unknown } {
  if (!isRecord(json) || json.format !== MODEL_FILE_FORMAT || !isRecord(json.modelInfo)) return {}
  const info = json.modelInfo
  const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
  const source = text(info.source)
  const startTime = text(info.startTime)
  const endTime = text(info.endTime)
  const trainingRequest = {
    ...(source === undefined ? {} : { dataSource: source }),
    ...(startTime === undefined ? {} : { startTime }),
    ...(endTime === undefined ? {} : { endTime }),
    ...(isRecord(info.alignPolicy) ? { alignPolicy: info.alignPolicy } : {}),
  }
  return {
    trainingRequest,
    ...(Array.isArray(info.variableStates) ? { diagnosticsInfo: { variableStates: info.variableStates } } : {}),
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function fromModelFile(json: unknown, path: string): LoadedModel {
  const envelope = isRecord(json) && json.format === MODEL_FILE_FORMAT ? json : undefined
  if (envelope !== undefined && envelope.version !== 1) {
    throw new ServiceError(
      'InvalidModelState',
      `${path}: model file version ${String(envelope.version)} is not supported`,
    )
  }
  // Say what is wrong with the envelope itself, not what the state check makes of it.
  if (envelope === undefined && isRecord(json) && json.format !== undefined && json.kind === undefined) {
    throw new ServiceError(
      'InvalidModelState',
      `${path}: format is ${JSON.stringify(json.format)}, expected "${MODEL_FILE_FORMAT}" (or a bare model state)`,
    )
  }
  if (envelope !== undefined && !isRecord(envelope.state)) {
    throw new ServiceError('InvalidModelState', `${path}: the model file has no "state" object`)
  }
  let state: ModelState
  try {
    state = loadModelState(envelope === undefined ? json : envelope.state)
  } catch (err) {
    // The file is what the user must look at: name it, whatever the code.
    if (err instanceof ServiceError) throw new ServiceError(err.code, `${path}: ${err.message}`, { cause: err })
    throw new ServiceError('InvalidModelState', `${path}: not a model file: ${(err as Error).message}`, { cause: err })
  }
  const info = envelope !== undefined && isRecord(envelope.modelInfo) ? envelope.modelInfo : {}
  const policy = isRecord(info.alignPolicy) ? (info.alignPolicy as Partial<AlignPolicy>) : {}
  // The state's own record wins; the envelope's copy covers states that do not keep it.
  const trainingEnd =
    typeof state.payload.trainingEnd === 'number'
      ? state.payload.trainingEnd
      : typeof info.trainingEnd === 'string'
        ? parseIsoTimestamp(info.trainingEnd)
        : undefined
  const tailRows = state.payload.trainingTail
  let alignPolicy: AlignPolicy
  try {
    alignPolicy = resolveAlignPolicy({ ...DEFAULT_ALIGN_POLICY, ...policy })
  } catch (err) {
    if (!(err instanceof ServiceError)) throw err
    throw new ServiceError('InvalidModelState', `${path}: modelInfo.alignPolicy: ${err.message}`, { cause: err })
  }
  const loaded: LoadedModel = {
    state,
    variables: state.payload.variables,
    slidingWindow: state.params.slidingWindow,
    alignPolicy,
  }
  if (trainingEnd !== undefined && tailRows.length > 0) {
    const step = state.payload.trainingStep
    loaded.trainingTail = { rows: tailRows, lastTimestamp: trainingEnd, ...(step === null ? {} : { step }) }
  }
  return loaded
}
