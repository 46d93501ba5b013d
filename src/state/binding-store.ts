/**
 * BindingStore port: which model (and version) scores which entity. Many entities may share one model.
 * `version` undefined means "the latest READY version". Changes are announced so workers reload without restart.
 */
export interface ModelBinding {
  modelId: string
  version?: number
}

export type BindingListener = (entity: string) => void

export interface BindingStore {
  set(entity: string, binding: ModelBinding): Promise<void>
  get(entity: string): Promise<ModelBinding | undefined>
  delete(entity: string): Promise<void>
  /** Calls `listener(entity)` after a binding changed (from any process). Returns an unsubscribe function. */
  subscribe(listener: BindingListener): Promise<() => Promise<void>>
}

export class MemoryBindingStore implements BindingStore {
  readonly #bindings = new Map<string, ModelBinding>()
  readonly #listeners = new Set<BindingListener>()

  set(entity: string, binding: ModelBinding): Promise<void> {
    this.#bindings.set(entity, { ...binding })
    for (const listener of this.#listeners) listener(entity)
    return Promise.resolve()
  }

  get(entity: string): Promise<ModelBinding | undefined> {
    const binding = this.#bindings.get(entity)
    return Promise.resolve(binding === undefined ? undefined : { ...binding })
  }

  delete(entity: string): Promise<void> {
    this.#bindings.delete(entity)
    for (const listener of this.#listeners) listener(entity)
    return Promise.resolve()
  }

  subscribe(listener: BindingListener): Promise<() => Promise<void>> {
    this.#listeners.add(listener)
    return Promise.resolve(() => {
      this.#listeners.delete(listener)
      return Promise.resolve()
    })
  }
}

export function parseBinding(raw: string): ModelBinding | undefined {
  try {
    const value = JSON.parse(raw) as { modelId?: unknown; version?: unknown }
    if (typeof value.modelId !== 'string' || value.modelId === '') return undefined
    if (value.version !== undefined && (typeof value.version !== 'number' || !Number.isInteger(value.version))) {
      return undefined
    }
    return value.version === undefined ? { modelId: value.modelId } : { modelId: value.modelId, version: value.version }
  } catch {
    return undefined
  }
}
