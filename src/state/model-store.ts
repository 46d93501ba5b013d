/**
 * ModelStore port: trained model states by id and version, with their lifecycle status. Scoring only ever loads
 * READY versions. Versions are numbered 1, 2, … per model id.
 */
import { randomUUID } from 'node:crypto'

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
  /** Training outcome: stage timings, losses, variableStates, … (READY and FAILED versions). */
  diagnosticsInfo?: unknown
  /** The job that trains (or trained) this version, when it came from the control plane. */
  jobId?: string
  /** What the version was trained from, as the request gave it (MVAD dataSource, startTime, alignPolicy, …). */
  trainingRequest?: unknown
}

export interface ModelVersionMeta {
  displayName?: string
  variables: string[]
  slidingWindow: number
  jobId?: string
  trainingRequest?: unknown
  /** For a version registered READY from a model file: the training outcome the file records. */
  diagnosticsInfo?: unknown
}

/** A change to a version's lifecycle; READY needs the state. */
export interface ModelVersionUpdate {
  status: Exclude<ModelStatus, 'CREATED'>
  errors?: { code: string; message: string }[]
  diagnosticsInfo?: unknown
  /** Set once the variables are known (after reading the data). */
  variables?: string[]
}

/** Info of a new version with `status` at `time`. `version` comes first: the Redis script relies on that. */
export function versionInfo(
  modelId: string,
  version: number,
  meta: ModelVersionMeta,
  time: Date,
  status: ModelStatus,
): ModelVersionInfo {
  const iso = time.toISOString()
  return {
    version,
    modelId,
    status,
    createdTime: iso,
    lastUpdatedTime: iso,
    displayName: meta.displayName ?? '',
    variables: [...meta.variables],
    slidingWindow: meta.slidingWindow,
    errors: [],
    ...(meta.jobId === undefined ? {} : { jobId: meta.jobId }),
    ...(meta.trainingRequest === undefined ? {} : { trainingRequest: meta.trainingRequest }),
    ...(meta.diagnosticsInfo === undefined ? {} : { diagnosticsInfo: meta.diagnosticsInfo }),
  }
}

/** `info` after `update` at `time`; undefined when the move is not allowed (a finished version never changes). */
export function applyVersionUpdate(
  info: ModelVersionInfo,
  update: ModelVersionUpdate,
  time: Date,
): ModelVersionInfo | undefined {
  if (info.status === 'READY' || info.status === 'FAILED') return undefined
  return {
    ...info,
    status: update.status,
    lastUpdatedTime: time.toISOString(),
    errors: update.errors ?? info.errors,
    ...(update.variables === undefined ? {} : { variables: [...update.variables] }),
    ...(update.diagnosticsInfo === undefined ? {} : { diagnosticsInfo: update.diagnosticsInfo }),
  }
}

/** Info of a version registered READY at `time`. */
export function readyVersionInfo(
  modelId: string,
  version: number,
  meta: ModelVersionMeta,
  time: Date,
): ModelVersionInfo {
  return versionInfo(modelId, version, meta, time, 'READY')
}

export interface ModelStore {
  /** Stores a trained state as a new READY version; returns its info. */
  registerReady(modelId: string, stateJson: string, meta: ModelVersionMeta): Promise<ModelVersionInfo>
  /** Allocates a new CREATED version (training is about to start); returns its info. */
  createVersion(modelId: string, meta: ModelVersionMeta): Promise<ModelVersionInfo>
  /**
   * Moves a CREATED/RUNNING version on; `stateJson` is stored with a READY move (required then). Undefined when the
   * version does not exist (e.g. the model was deleted meanwhile) or has already finished.
   */
  updateVersion(
    modelId: string,
    version: number,
    update: ModelVersionUpdate,
    stateJson?: string,
  ): Promise<ModelVersionInfo | undefined>
  /** Info of one version, or of the latest version when `version` is omitted. */
  getInfo(modelId: string, version?: number): Promise<ModelVersionInfo | undefined>
  /** The state JSON of a READY version (latest READY when `version` is omitted), with its info. */
  getReadyState(modelId: string, version?: number): Promise<{ info: ModelVersionInfo; stateJson: string } | undefined>
  listVersions(modelId: string): Promise<ModelVersionInfo[]>
  listModelIds(): Promise<string[]>
  /**
   * Claims the model for a delete (one at a time: undefined while another delete holds its claim) or for a bind of
   * entities to it (any number at once), for `holdMs` unless renewed; returns the claim's token. A claim left by a
   * process that died ends with its hold. state/model-deletion.ts says what the claims are for.
   */
  claim(modelId: string, kind: ClaimKind, holdMs: number): Promise<string | undefined>
  /** Holds the claim `holdMs` from now; false when it is gone (expired, or released). */
  renewClaim(modelId: string, kind: ClaimKind, token: string, holdMs: number): Promise<boolean>
  releaseClaim(modelId: string, kind: ClaimKind, token: string): Promise<void>
  /** Whether a claim of `kind` on the model holds now. */
  isClaimed(modelId: string, kind: ClaimKind): Promise<boolean>
  /** Deletes the model with all its versions, only while its delete claim holds `token`. */
  deleteModel(modelId: string, token: string): Promise<DeleteOutcome>
}

export type ClaimKind = 'delete' | 'bind'

/** `claimLost`: the delete's claim expired or was taken over, and nothing was deleted. */
export type DeleteOutcome = 'deleted' | 'absent' | 'claimLost'

export class MemoryModelStore implements ModelStore {
  /** Version counters of deleted models: a model made again under the id numbers on from them. */
  readonly #deletedSeq = new Map<string, number>()
  readonly #models = new Map<
    string,
    { seq: number; versions: Map<number, { info: ModelVersionInfo; state: string }> }
  >()
  /** `<kind>:<modelId>` → token → until (ms). */
  readonly #claims = new Map<string, Map<string, number>>()
  readonly #now: () => Date

  constructor(now: () => Date = () => new Date()) {
    this.#now = now
  }

  registerReady(modelId: string, stateJson: string, meta: ModelVersionMeta): Promise<ModelVersionInfo> {
    const model = this.#models.get(modelId) ?? { seq: this.#deletedSeq.get(modelId) ?? 0, versions: new Map() }
    this.#models.set(modelId, model)
    model.seq += 1
    const info = readyVersionInfo(modelId, model.seq, meta, this.#now())
    model.versions.set(info.version, { info, state: stateJson })
    return Promise.resolve(structuredClone(info))
  }

  createVersion(modelId: string, meta: ModelVersionMeta): Promise<ModelVersionInfo> {
    const model = this.#models.get(modelId) ?? { seq: this.#deletedSeq.get(modelId) ?? 0, versions: new Map() }
    this.#models.set(modelId, model)
    model.seq += 1
    const info = versionInfo(modelId, model.seq, meta, this.#now(), 'CREATED')
    model.versions.set(info.version, { info, state: '' })
    return Promise.resolve(structuredClone(info))
  }

  async updateVersion(
    modelId: string,
    version: number,
    update: ModelVersionUpdate,
    stateJson?: string,
  ): Promise<ModelVersionInfo | undefined> {
    await Promise.resolve()
    assertStateWithReady(update, stateJson)
    const entry = this.#models.get(modelId)?.versions.get(version)
    const next = entry === undefined ? undefined : applyVersionUpdate(entry.info, update, this.#now())
    if (entry === undefined || next === undefined) return undefined
    entry.info = next
    if (stateJson !== undefined) entry.state = stateJson
    return structuredClone(next)
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

  claim(modelId: string, kind: ClaimKind, holdMs: number): Promise<string | undefined> {
    const claims = this.#liveClaims(modelId, kind)
    if (kind === 'delete' && claims.size > 0) return Promise.resolve(undefined)
    const token = randomUUID()
    claims.set(token, this.#now().getTime() + holdMs)
    this.#claims.set(`${kind}:${modelId}`, claims)
    return Promise.resolve(token)
  }

  renewClaim(modelId: string, kind: ClaimKind, token: string, holdMs: number): Promise<boolean> {
    const claims = this.#liveClaims(modelId, kind)
    if (!claims.has(token)) return Promise.resolve(false)
    claims.set(token, this.#now().getTime() + holdMs)
    return Promise.resolve(true)
  }

  releaseClaim(modelId: string, kind: ClaimKind, token: string): Promise<void> {
    this.#liveClaims(modelId, kind).delete(token)
    return Promise.resolve()
  }

  isClaimed(modelId: string, kind: ClaimKind): Promise<boolean> {
    return Promise.resolve(this.#liveClaims(modelId, kind).size > 0)
  }

  /** For MemoryBindingStore's fenced writes (BindClaimHolder). */
  holdsBindClaim(modelId: string, token: string): boolean {
    return this.#liveClaims(modelId, 'bind').has(token)
  }

  deleteModel(modelId: string, token: string): Promise<DeleteOutcome> {
    if (!this.#liveClaims(modelId, 'delete').has(token)) return Promise.resolve('claimLost')
    const model = this.#models.get(modelId)
    // The version counter outlives the model, as in Redis (DELETE_MODEL_LUA says why).
    if (model !== undefined) this.#deletedSeq.set(modelId, model.seq)
    return Promise.resolve(this.#models.delete(modelId) ? 'deleted' : 'absent')
  }

  /** The model's unexpired claims of `kind`, token → until (ms); expired ones are dropped. */
  #liveClaims(modelId: string, kind: ClaimKind): Map<string, number> {
    const claims = this.#claims.get(`${kind}:${modelId}`) ?? new Map<string, number>()
    const now = this.#now().getTime()
    for (const [token, until] of claims) if (until <= now) claims.delete(token)
    if (claims.size === 0) this.#claims.delete(`${kind}:${modelId}`)
    return claims
  }
}

export function assertStateWithReady(update: ModelVersionUpdate, stateJson: string | undefined): void {
  if (update.status === 'READY' && (stateJson === undefined || stateJson === '')) {
    throw new Error('a READY model version needs its state')
  }
}
