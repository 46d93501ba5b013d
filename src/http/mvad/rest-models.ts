/**
 * The REST API's models: versions in the ModelStore, and models whose train job (`rest-train-<modelId>`) is still
 * queued, which MVAD listed as CREATED before any version exists.
 */
import type { TrainCommand } from '../../control/commands.js'
import { readyModel } from '../../control/handlers/detect-batch.js'
import { fromModelFile, type LoadedModel } from '../../cli/model-file.js'
import { ServiceError } from '../../errors.js'
import type { JobRecord, JobStore } from '../../state/job-store.js'
import type { ModelStore } from '../../state/model-store.js'
import type { ReadyModelCache } from './model-cache.js'
import { pendingModelToWire } from './wire.js'

export interface RestModelDeps {
  models: ModelStore
  jobs: JobStore
  modelCache?: ReadyModelCache | undefined
}

export const TRAIN_JOB_PREFIX = 'rest-train-'
export const trainJobId = (modelId: string): string => `${TRAIN_JOB_PREFIX}${modelId}`

/** A REST model whose train job is queued but has not created its version yet; undefined when there is none. */
export async function pendingModel(deps: RestModelDeps, modelId: string): Promise<Record<string, unknown> | undefined> {
  const job: JobRecord | undefined = await deps.jobs.get(trainJobId(modelId))
  // Once the job created the version (its result names it), the ModelStore answers — or the model was deleted.
  const created = (job?.result as { version?: number } | undefined)?.version !== undefined
  if (job === undefined || job.type !== 'train' || created) return undefined
  // Canceled before it created a version: deleted while queued (DELETE cancels it), so it never appears.
  if (job.status === 'FAILED' && job.errors.some((e) => e.code === 'JobCanceled')) return undefined
  const wire = pendingModelToWire(job.command as TrainCommand, job.createdTime)
  if (job.status === 'FAILED') Object.assign(wire.modelInfo as object, { status: 'FAILED', errors: job.errors })
  return wire
}

/**
 * readyModel, knowing REST models whose train job is still queued (no version yet): those are not READY (400
 * ModelNotReady, or ModelFailed when the job failed before starting), not missing.
 */
export async function restReadyModel(deps: RestModelDeps, modelId: string): ReturnType<typeof readyModel> {
  try {
    return await readyModel(deps.models, modelId)
  } catch (error) {
    if (!(error instanceof ServiceError) || error.code !== 'ModelNotExist') throw error
    const pending = await pendingModel(deps, modelId)
    if (pending === undefined) throw error
    if ((pending.modelInfo as { status?: string }).status === 'FAILED') {
      throw new ServiceError('ModelFailed', `model ${modelId} failed to train`)
    }
    throw new ServiceError('ModelNotReady', `model ${modelId} is CREATED (its training is queued), not READY yet`)
  }
}

/** The latest READY version of a model, parsed, from the cache when it holds that version. */
export async function detectLastModel(deps: RestModelDeps, modelId: string): Promise<LoadedModel> {
  const parse = (stateJson: string): LoadedModel => fromModelFile(JSON.parse(stateJson), `model ${modelId}`)
  const cache = deps.modelCache
  const ready =
    cache === undefined
      ? undefined
      : (await deps.models.listVersions(modelId)).filter((info) => info.status === 'READY').at(-1)
  // No READY version: restReadyModel answers why (or finds one made meanwhile).
  if (cache === undefined || ready === undefined) return parse((await restReadyModel(deps, modelId)).stateJson)
  return cache.get(
    ready,
    async () => {
      const state = await deps.models.getReadyState(modelId, ready.version)
      // Deleted since its versions were read.
      if (state === undefined) throw new ServiceError('ModelNotExist', `model ${modelId} does not exist`)
      return state.stateJson
    },
    parse,
  )
}
