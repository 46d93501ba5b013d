/**
 * The slice of the model API (src/model, written separately) that the CLI and the benchmark use. Loaded with a
 * dynamic import so the CLI builds and its model-free commands (evaluate, chart) work even without a model module;
 * train/detect then fail with a clear message instead of a crash.
 */
import type { AlignedSeries } from '../domain/types.js'
import { ServiceError } from '../errors.js'
import type { BatchScorer } from '../pipeline/detect-batch.js'

export interface ModelStateLike {
  params: { slidingWindow: number }
  payload: { variables: string[]; trainingTail: number[][] }
}

export interface ModelApi {
  fitModel(
    series: AlignedSeries,
    params?: { slidingWindow?: number },
    options?: { onProgress?: (fraction: number, stage: string) => void },
  ): { state: ModelStateLike; diagnostics: unknown }
  loadModelState(json: unknown): ModelStateLike
  createScorer(state: ModelStateLike): BatchScorer
}

const MODEL_MODULE = '../model/index.js'

let cached: Promise<ModelApi> | undefined

export function loadModelApi(): Promise<ModelApi> {
  cached ??= (import(MODEL_MODULE) as Promise<ModelApi>).catch((err: unknown) => {
    cached = undefined
    throw new ServiceError('Internal', `the model module (src/model) is not available: ${String(err)}`, { cause: err })
  })
  return cached
}
