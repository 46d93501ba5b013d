/**
 * What the stream needs of a trained model, and how entities find theirs: binding (Redis) → READY version in the
 * ModelStore → a loaded scorer, cached per model version. Binding changes invalidate the entity's resolution.
 */
import { createHash } from 'node:crypto'
import type { AnomalyValue, FillNAMethod } from '../domain/types.js'
import { ServiceError } from '../errors.js'
import type { BindingStore } from '../state/binding-store.js'
import type { ModelStore } from '../state/model-store.js'

export interface LoadedModel {
  modelId: string
  version: number
  variables: readonly string[]
  slidingWindow: number
  fillNAMethod: FillNAMethod
  paddingValue: number
  /** Last training rows (model column order), oldest first: the warm start of a new window. */
  trainingTail: readonly Float64Array[]
  /** Rows aligned for one model fit another model only when the variables match: this key says which layout. */
  layoutKey: string
  scoreLast(window: readonly Float64Array[], topContributorCount: number): AnomalyValue
}

/** Turns a stored state JSON into a LoadedModel (wraps the detection core's loadModelState + createScorer). */
export type ModelLoader = (stateJson: string, identity: { modelId: string; version: number }) => LoadedModel

export function layoutKeyOf(variables: readonly string[]): string {
  return createHash('sha256').update(variables.join('\u0000')).digest('hex').slice(0, 16)
}

export class ModelResolver {
  readonly #bindings: BindingStore
  readonly #models: ModelStore
  readonly #load: ModelLoader
  readonly #cache = new Map<string, LoadedModel>()
  readonly #byEntity = new Map<string, LoadedModel>()
  /** Entities that resolved to nothing, until when (ms) that answer is trusted: a model may become READY later. */
  readonly #misses = new Map<string, number>()
  readonly #missTtlMs: number
  readonly #now: () => number

  constructor(
    bindings: BindingStore,
    models: ModelStore,
    load: ModelLoader,
    options: { missTtlMs?: number; now?: () => number } = {},
  ) {
    this.#bindings = bindings
    this.#models = models
    this.#load = load
    this.#missTtlMs = options.missTtlMs ?? 5_000
    this.#now = options.now ?? Date.now
  }

  /** Forget what an entity resolved to (binding changed). */
  invalidate(entity: string): void {
    this.#byEntity.delete(entity)
    this.#misses.delete(entity)
  }

  get loadedModelCount(): number {
    return this.#cache.size
  }

  /** The entity's current model, or undefined when it has no binding or its model has no READY version. */
  async resolve(entity: string): Promise<LoadedModel | undefined> {
    const known = this.#byEntity.get(entity)
    if (known !== undefined) return known
    const missUntil = this.#misses.get(entity)
    if (missUntil !== undefined && this.#now() < missUntil) return undefined
    const binding = await this.#bindings.get(entity)
    if (binding === undefined) {
      this.#misses.set(entity, this.#now() + this.#missTtlMs)
      return undefined
    }
    const cacheKey = binding.version === undefined ? undefined : `${binding.modelId}@${binding.version}`
    let model = cacheKey === undefined ? undefined : this.#cache.get(cacheKey)
    if (model === undefined) {
      const stored = await this.#models.getReadyState(binding.modelId, binding.version)
      if (stored === undefined) {
        this.#misses.set(entity, this.#now() + this.#missTtlMs)
        return undefined
      }
      const key = `${stored.info.modelId}@${stored.info.version}`
      model = this.#cache.get(key)
      if (model === undefined) {
        try {
          model = this.#load(stored.stateJson, { modelId: stored.info.modelId, version: stored.info.version })
        } catch (error) {
          throw new ServiceError('InvalidModelState', `model ${key} cannot be loaded: ${String(error)}`, {
            cause: error,
          })
        }
        this.#cache.set(key, model)
      }
    }
    this.#misses.delete(entity)
    this.#byEntity.set(entity, model)
    return model
  }
}
