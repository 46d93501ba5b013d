/**
 * ModelStore port: trained model states by id and version, with their lifecycle status. Scoring only ever loads
 * READY versions. Versions are numbered 1, 2, … per model id.
 */
export const MODEL_STATUSES = ['CREATED', 'RUNNING', 'READY', 'FAILED'] as const
export type ModelStatus = (typeof MODEL_STATUSES)[number]

export interface ModelVersionInfo {
  modelId: string
  version: number
  status: ModelStatus
  createdTime: string
  lastUpdatedTime: string
  displayName: string
  variables: string[]
  slidingWindow: number
  errors: { code: string; message: string }[]
}

export interface ModelVersionMeta {
  displayName?: string
  variables: string[]
  slidingWindow: number
}

/** Info of a version registered READY at `time`. `version` comes first: the Redis script relies on that. */
export function readyVersionInfo(
  modelId: string,
  version: number,
  meta: ModelVersionMeta,
  time: Date,
): ModelVersionInfo {
  const iso = time.toISOString()
  return {
    version,
    modelId,
    status: 'READY',
    createdTime: iso,
    lastUpdatedTime: iso,
    displayName: meta.displayName ?? '',
    variables: [...meta.variables],
    slidingWindow: meta.slidingWindow,
    errors: [],
  }
}

export interface ModelStore {
  /** Stores a trained state as a new READY version; returns its info. */
  registerReady(
    modelId: string,
    stateJson: string,
    meta: { displayName?: string; variables: string[]; slidingWindow: number },
  ): Promise<ModelVersionInfo>
  /** Info of one version, or of the latest version when `version` is omitted. */
  getInfo(modelId: string, version?: number): Promise<ModelVersionInfo | undefined>
  /** The state JSON of a READY version (latest READY when `version` is omitted), with its info. */
  getReadyState(modelId: string, version?: number): Promise<{ info: ModelVersionInfo; stateJson: string } | undefined>
  listVersions(modelId: string): Promise<ModelVersionInfo[]>
  listModelIds(): Promise<string[]>
  deleteModel(modelId: string): Promise<boolean>
}

export class MemoryModelStore implements ModelStore {
  readonly #models = new Map<
    string,
    { seq: number; versions: Map<number, { info: ModelVersionInfo; state: string }> }
  >()
  readonly #now: () => Date

  constructor(now: () => Date = () => new Date()) {
    this.#now = now
  }

  registerReady(modelId: string, stateJson: string, meta: ModelVersionMeta): Promise<ModelVersionInfo> {
    const model = this.#models.get(modelId) ?? { seq: 0, versions: new Map() }
    this.#models.set(modelId, model)
    model.seq += 1
    const info = readyVersionInfo(modelId, model.seq, meta, this.#now())
    model.versions.set(info.version, { info, state: stateJson })
    return Promise.resolve(structuredClone(info))
  }

  getInfo(modelId: string, version?: number): Promise<ModelVersionInfo | undefined> {
    const model = this.#models.get(modelId)
    const v = version ?? model?.seq
    const entry = v === undefined ? undefined : model?.versions.get(v)
    return Promise.resolve(entry === undefined ? undefined : structuredClone(entry.info))
  }

  getReadyState(modelId: string, version?: number): Promise<{ info: ModelVersionInfo; stateJson: string } | undefined> {
    const model = this.#models.get(modelId)
    if (model === undefined) return Promise.resolve(undefined)
    const candidates = version === undefined ? [...model.versions.keys()].sort((a, b) => b - a) : [version]
    for (const v of candidates) {
      const entry = model.versions.get(v)
      if (entry?.info.status === 'READY') {
        return Promise.resolve({ info: structuredClone(entry.info), stateJson: entry.state })
      }
    }
    return Promise.resolve(undefined)
  }

  listVersions(modelId: string): Promise<ModelVersionInfo[]> {
    const model = this.#models.get(modelId)
    const versions = model === undefined ? [] : [...model.versions.values()].map((entry) => structuredClone(entry.info))
    return Promise.resolve(versions.sort((a, b) => a.version - b.version))
  }

  listModelIds(): Promise<string[]> {
    return Promise.resolve([...this.#models.keys()].sort())
  }

  deleteModel(modelId: string): Promise<boolean> {
    return Promise.resolve(this.#models.delete(modelId))
  }
}
