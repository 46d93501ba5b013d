/**
 * BindingStore port: which model (and version) scores which entity. Many entities may share one model.
 * `version` undefined means "the latest READY version". Changes are announced so workers reload without restart.
 */
export interface ModelRef {
  modelId: string
  version?: number
}

export interface ModelBinding extends ModelRef {
  /** Scored alongside the default; its events are tagged `shadow` and go to the events topic but do not alert. */
  shadow?: ModelRef
}

export interface EntityBinding {
  entity: string
  binding: ModelBinding
}

/** Entities whose default or shadow model is `modelId`. */
export function entitiesUsingModel(bindings: readonly EntityBinding[], modelId: string): string[] {
  return bindings
    .filter(({ binding }) => binding.modelId === modelId || binding.shadow?.modelId === modelId)
    .map(({ entity }) => entity)
    .sort()
}

export type BindingListener = (entity: string) => void

/** The bind claims (state/model-deletion.ts) a fenced write needs to still hold: a token per model. */
export type BindFence = readonly { modelId: string; token: string }[]

/** What MemoryBindingStore asks of the model store beside it to fence a write (MemoryModelStore answers). */
export interface BindClaimHolder {
  holdsBindClaim(modelId: string, token: string): boolean
}

export interface BindingStore {
  set(entity: string, binding: ModelBinding): Promise<void>
  /**
   * Writes the binding only while every claim of `fence` holds, checked where the write happens (so a write that
   * arrives late cannot outlive its claims); false, writing nothing, otherwise.
   */
  setFenced(entity: string, binding: ModelBinding, fence: BindFence): Promise<boolean>
  get(entity: string): Promise<ModelBinding | undefined>
  delete(entity: string): Promise<void>
  /** Every binding, by entity (sorted). */
  list(): Promise<EntityBinding[]>
  /**
   * Calls `listener(entity)` after a binding changed (from any process); `onMissed()` when notices may have been lost
   * (the subscription's connection dropped and came back): whatever was cached from bindings is then suspect.
   * Returns an unsubscribe function.
   */
  subscribe(listener: BindingListener, onMissed?: () => void): Promise<() => Promise<void>>
}

export class MemoryBindingStore implements BindingStore {
  readonly #bindings = new Map<string, ModelBinding>()
  readonly #listeners = new Set<BindingListener>()
  readonly #claims: BindClaimHolder | undefined

  /** `claims`: the model store whose bind claims fence `setFenced` (without it, `setFenced` throws). */
  constructor(claims?: BindClaimHolder) {
    this.#claims = claims
  }

  async setFenced(entity: string, binding: ModelBinding, fence: BindFence): Promise<boolean> {
    const claims = this.#claims
    if (claims === undefined) throw new Error('this MemoryBindingStore was made without a model store to fence with')
    if (!fence.every(({ modelId, token }) => claims.holdsBindClaim(modelId, token))) return false
    await this.set(entity, binding)
    return true
  }

  set(entity: string, binding: ModelBinding): Promise<void> {
    this.#bindings.set(entity, structuredClone(binding))
    for (const listener of this.#listeners) listener(entity)
    return Promise.resolve()
  }

  get(entity: string): Promise<ModelBinding | undefined> {
    const binding = this.#bindings.get(entity)
    return Promise.resolve(binding === undefined ? undefined : structuredClone(binding))
  }

  delete(entity: string): Promise<void> {
    this.#bindings.delete(entity)
    for (const listener of this.#listeners) listener(entity)
    return Promise.resolve()
  }

  list(): Promise<EntityBinding[]> {
    const all = [...this.#bindings.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([entity, binding]) => ({ entity, binding: structuredClone(binding) }))
    return Promise.resolve(all)
  }

  subscribe(listener: BindingListener): Promise<() => Promise<void>> {
    this.#listeners.add(listener)
    return Promise.resolve(() => {
      this.#listeners.delete(listener)
      return Promise.resolve()
    })
  }
}

function parseRef(value: unknown): ModelRef | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const { modelId, version } = value as { modelId?: unknown; version?: unknown }
  if (typeof modelId !== 'string' || modelId === '') return undefined
  if (version === undefined) return { modelId }
  return typeof version === 'number' && Number.isInteger(version) ? { modelId, version } : undefined
}

export function parseBinding(raw: string): ModelBinding | undefined {
  try {
    const value = JSON.parse(raw) as { shadow?: unknown }
    const main = parseRef(value)
    if (main === undefined) return undefined
    if (value.shadow === undefined) return main
    const shadow = parseRef(value.shadow)
    return shadow === undefined ? undefined : { ...main, shadow }
  } catch {
    return undefined
  }
}
