/**
 * What the stream needs of a trained model, and how entities find theirs: binding (Redis) → READY version in the
 * ModelStore → a loaded scorer, cached per model version. Binding changes invalidate the entity's resolution.
 * A binding may name a shadow model too: it is resolved the same way and scored alongside the default on the same
 * window (its variables must be the default's, in any order), but a shadow that cannot be served never stops the
 * default from scoring — the problem is reported and the entity goes on without its shadow.
 */
import { createHash } from 'node:crypto'
import type { AnomalyValue, FillNAMethod } from '../domain/types.js'
import { ServiceError, isServiceError } from '../errors.js'
import type { BindingStore, ModelRef } from '../state/binding-store.js'
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

/** A shadow model and how to read the default model's rows in its column order. */
export interface ShadowModel {
  model: LoadedModel
  /** shadow column i = default column columns[i]; undefined when both use the same order (no copy needed). */
  columns: Int32Array | undefined
}

export interface EntityModels {
  model: LoadedModel
  shadow?: ShadowModel
}

/**
 * Where a shadow's columns come from in the default model's rows, undefined when the order is the same, or a
 * message when the two models do not have the same variables (a shadow must see exactly the same data).
 */
export function shadowColumns(
  defaultVariables: readonly string[],
  shadowVariables: readonly string[],
): { columns: Int32Array | undefined } | { problem: string } {
  const index = new Map(defaultVariables.map((variable, i) => [variable, i]))
  const missing = shadowVariables.filter((v) => !index.has(v))
  const shadowSet = new Set(shadowVariables)
  const extra = defaultVariables.filter((v) => !shadowSet.has(v))
  if (missing.length > 0 || extra.length > 0 || shadowVariables.length !== defaultVariables.length) {
    const parts = [
      missing.length > 0 ? `only in the shadow: ${missing.slice(0, 5).join(', ')}` : '',
      extra.length > 0 ? `only in the default: ${extra.slice(0, 5).join(', ')}` : '',
    ].filter((p) => p !== '')
    return { problem: `the shadow model's variables differ from the default model's (${parts.join('; ')})` }
  }
  const columns = Int32Array.from(shadowVariables, (v) => index.get(v) as number)
  return { columns: columns.every((c, i) => c === i) ? undefined : columns }
}

/** The shadow's view of a window of default-order rows: the same rows, or permuted copies. */
export function shadowWindow(rows: readonly Float64Array[], shadow: ShadowModel): readonly Float64Array[] {
  const window = rows.slice(-shadow.model.slidingWindow)
  const columns = shadow.columns
  if (columns === undefined) return window
  return window.map((row) => Float64Array.from(columns, (c) => row[c] as number))
}

export class ModelResolver {
  readonly #bindings: BindingStore
  readonly #models: ModelStore
  readonly #load: ModelLoader
  readonly #cache = new Map<string, LoadedModel>()
  readonly #byEntity = new Map<string, EntityModels>()
  /** Entities that resolved to nothing, until when (ms) that answer is trusted: a model may become READY later. */
  readonly #misses = new Map<string, number>()
  /** Why an entity resolved to nothing, when there is more to say than "no binding or no READY version". */
  readonly #missReasons = new Map<string, string>()
  /**
   * A resolution that was reading the stores while its entity was forgotten (or all were) is answered but not
   * remembered: `#epoch` counts invalidateAll, `#forgotten` holds each forgotten entity's mark. Per entity, so that a
   * rebalance forgetting some entities does not unsettle the resolutions of the others.
   */
  #epoch = 0
  readonly #forgotten = new Map<string, number>()
  #forgets = 0
  readonly #missTtlMs: number
  readonly #now: () => number
  readonly #onShadowProblem: (entity: string, problem: string) => void
  readonly #onModelDropped: (modelId: string) => void

  constructor(
    bindings: BindingStore,
    models: ModelStore,
    load: ModelLoader,
    options: {
      missTtlMs?: number
      now?: () => number
      /** Told when an entity's shadow cannot be served (not READY, unloadable, other variables). */
      onShadowProblem?: (entity: string, problem: string) => void
      /** Told when no version of a model is loaded any more (e.g. to drop its metric series). */
      onModelDropped?: (modelId: string) => void
    } = {},
  ) {
    this.#bindings = bindings
    this.#models = models
    this.#load = load
    this.#missTtlMs = options.missTtlMs ?? 5_000
    this.#now = options.now ?? Date.now
    this.#onShadowProblem = options.onShadowProblem ?? (() => undefined)
    this.#onModelDropped = options.onModelDropped ?? (() => undefined)
  }

  /** Forget what an entity resolved to (binding changed); versions no entity uses any more are unloaded. */
  invalidate(entity: string): void {
    this.#forget(entity)
    this.#evictUnused()
  }

  /** Forgets these entities (another instance serves them now) and unloads what only they used, in one pass. */
  forget(entities: Iterable<string>): void {
    for (const entity of entities) this.#forget(entity)
    this.#evictUnused()
  }

  /** Forgets every entity's resolution (binding notices may have been missed); returns the entities it knew. */
  invalidateAll(): string[] {
    const known = [...new Set([...this.#byEntity.keys(), ...this.#misses.keys()])]
    this.#epoch++
    for (const entity of known) this.#forget(entity)
    this.#evictUnused()
    return known
  }

  #forget(entity: string): void {
    this.#forgotten.set(entity, ++this.#forgets)
    this.#byEntity.delete(entity)
    this.#misses.delete(entity)
    this.#missReasons.delete(entity)
  }

  /**
   * Unloads the versions no remembered resolution uses (a binding moved to a new version, a model was undeployed):
   * kept for ever, every version ever scored stayed in memory. A worker still scoring with one keeps its own
   * reference until it reloads the entity.
   */
  #evictUnused(): void {
    const used = new Set<string>()
    for (const { model, shadow } of this.#byEntity.values()) {
      used.add(`${model.modelId}@${model.version}`)
      if (shadow !== undefined) used.add(`${shadow.model.modelId}@${shadow.model.version}`)
    }
    const dropped = new Set<string>()
    for (const [key, model] of this.#cache) {
      if (used.has(key)) continue
      this.#cache.delete(key)
      dropped.add(model.modelId)
    }
    for (const model of this.#cache.values()) dropped.delete(model.modelId)
    for (const modelId of dropped) this.#onModelDropped(modelId)
  }

  /** Why the entity's last resolution gave nothing, when known (its model cannot be loaded). */
  unresolvedReason(entity: string): string | undefined {
    return this.#missReasons.get(entity)
  }

  get loadedModelCount(): number {
    return this.#cache.size
  }

  /** The entity's current model, or undefined when it has no binding or its model has no READY version. */
  async resolve(entity: string): Promise<LoadedModel | undefined> {
    return (await this.resolveEntity(entity))?.model
  }

  /**
   * The entity's default model and, when deployed and servable, its shadow; undefined when it has no binding, its
   * model has no READY version, or that version cannot be loaded (a state this build refuses: the entity's readings
   * become dead letters saying so — unresolvedReason — rather than stopping its partition). Store errors propagate.
   */
  async resolveEntity(entity: string): Promise<EntityModels | undefined> {
    const known = this.#byEntity.get(entity)
    if (known !== undefined) return known
    const missUntil = this.#misses.get(entity)
    if (missUntil !== undefined && this.#now() < missUntil) return undefined
    const epoch = this.#epoch
    const mark = this.#forgotten.get(entity)
    const overtaken = (): boolean => epoch !== this.#epoch || mark !== this.#forgotten.get(entity)
    const binding = await this.#bindings.get(entity)
    let model: LoadedModel | undefined
    let reason: string | undefined
    try {
      model = binding === undefined ? undefined : await this.#loadRef(binding)
    } catch (error) {
      if (!isServiceError(error) || error.retriable) throw error
      reason = `entity "${entity}" is bound to a model that cannot be served: ${error.message}`
    }
    if (binding === undefined || model === undefined) {
      // A binding changed while the stores were read: what was read may be the old binding; nothing is remembered.
      if (overtaken()) return undefined
      this.#misses.set(entity, this.#now() + this.#missTtlMs)
      if (reason === undefined) this.#missReasons.delete(entity)
      else this.#missReasons.set(entity, reason)
      return undefined
    }
    this.#missReasons.delete(entity)
    const resolved: EntityModels = { model }
    if (binding.shadow !== undefined) {
      const shadow = await this.#resolveShadow(binding.shadow, model).catch((error: unknown) => String(error))
      if (typeof shadow === 'string') this.#onShadowProblem(entity, shadow)
      else resolved.shadow = shadow
    }
    if (overtaken()) return resolved
    this.#misses.delete(entity)
    this.#byEntity.set(entity, resolved)
    return resolved
  }

  async #resolveShadow(ref: ModelRef, model: LoadedModel): Promise<ShadowModel | string> {
    const shadow = await this.#loadRef(ref)
    const name = `${ref.modelId}@${ref.version ?? 'latest'}`
    if (shadow === undefined) return `shadow model ${name} has no READY version`
    const layout = shadowColumns(model.variables, shadow.variables)
    if ('problem' in layout) return `shadow model ${name}: ${layout.problem}`
    return { model: shadow, columns: layout.columns }
  }

  /** A READY version of the referenced model, loaded once per version; undefined when there is none. */
  async #loadRef(ref: ModelRef): Promise<LoadedModel | undefined> {
    const cacheKey = ref.version === undefined ? undefined : `${ref.modelId}@${ref.version}`
    const cached = cacheKey === undefined ? undefined : this.#cache.get(cacheKey)
    if (cached !== undefined) return cached
    const stored = await this.#models.getReadyState(ref.modelId, ref.version)
    if (stored === undefined) return undefined
    const key = `${stored.info.modelId}@${stored.info.version}`
    let model = this.#cache.get(key)
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
    return model
  }
}
