/**
 * ModelStore on Redis. Per model (one hash tag): a version counter, a hash version → info JSON, one string per
 * version state. Registration is one Lua script so a version is never visible without its state.
 */
import type { Redis } from 'ioredis'
import type { KeySpace } from './keys.js'
import { randomUUID } from 'node:crypto'
import {
  DELETE_MODEL_LUA,
  REGISTER_MODEL_VERSION_LUA,
  RELEASE_CLAIM_LUA,
  CLAIM_BIND_LUA,
  COUNT_BIND_CLAIMS_LUA,
  RENEW_BIND_CLAIM_LUA,
  RENEW_CLAIM_LUA,
  UPDATE_MODEL_VERSION_LUA,
} from './lua/scripts.js'
import {
  applyVersionUpdate,
  assertStateWithReady,
  versionInfo,
  type ClaimKind,
  type DeleteOutcome,
  type ModelStatus,
  type ModelStore,
  type ModelVersionInfo,
  type ModelVersionMeta,
  type ModelVersionUpdate,
} from './model-store.js'

type RegisterCommand = (
  seqKey: string,
  versionsKey: string,
  statePrefix: string,
  info: string,
  state: string,
) => Promise<number>
type UpdateCommand = (
  versionsKey: string,
  stateKey: string,
  version: string,
  expected: string,
  info: string,
  state: string,
) => Promise<number>
type DeleteCommand = (
  seqKey: string,
  versionsKey: string,
  claimKey: string,
  statePrefix: string,
  token: string,
) => Promise<number>
type ReleaseClaimCommand = (claimKey: string, token: string) => Promise<number>
type RenewClaimCommand = (claimKey: string, token: string, holdMs: number) => Promise<number>
type BindClaimCommand = (claimsKey: string, token: string, holdMs: number) => Promise<number>
type CountBindClaimsCommand = (claimsKey: string) => Promise<number>

export class RedisModelStore implements ModelStore {
  readonly #redis: Redis
  readonly #keys: KeySpace
  readonly #now: () => Date

  constructor(redis: Redis, keys: KeySpace, now: () => Date = () => new Date()) {
    this.#redis = redis
    this.#keys = keys
    this.#now = now
    if (!('mvadRegisterModelVersion' in redis)) {
      redis.defineCommand('mvadRegisterModelVersion', { numberOfKeys: 2, lua: REGISTER_MODEL_VERSION_LUA })
      redis.defineCommand('mvadUpdateModelVersion', { numberOfKeys: 2, lua: UPDATE_MODEL_VERSION_LUA })
    }
    if (!('mvadDeleteModel' in redis)) {
      redis.defineCommand('mvadDeleteModel', { numberOfKeys: 3, lua: DELETE_MODEL_LUA })
      redis.defineCommand('mvadReleaseClaim', { numberOfKeys: 1, lua: RELEASE_CLAIM_LUA })
      redis.defineCommand('mvadRenewClaim', { numberOfKeys: 1, lua: RENEW_CLAIM_LUA })
      redis.defineCommand('mvadClaimBind', { numberOfKeys: 1, lua: CLAIM_BIND_LUA })
      redis.defineCommand('mvadRenewBindClaim', { numberOfKeys: 1, lua: RENEW_BIND_CLAIM_LUA })
      redis.defineCommand('mvadCountBindClaims', { numberOfKeys: 1, lua: COUNT_BIND_CLAIMS_LUA })
    }
  }

  registerReady(modelId: string, stateJson: string, meta: ModelVersionMeta): Promise<ModelVersionInfo> {
    return this.#register(modelId, stateJson, meta, 'READY')
  }

  createVersion(modelId: string, meta: ModelVersionMeta): Promise<ModelVersionInfo> {
    return this.#register(modelId, '', meta, 'CREATED')
  }

  async updateVersion(
    modelId: string,
    version: number,
    update: ModelVersionUpdate,
    stateJson?: string,
  ): Promise<ModelVersionInfo | undefined> {
    assertStateWithReady(update, stateJson)
    const command = (this.#redis as unknown as { mvadUpdateModelVersion: UpdateCommand }).mvadUpdateModelVersion
    for (let attempt = 0; attempt < 10; attempt++) {
      const raw = await this.#redis.hget(this.#keys.modelVersions(modelId), String(version))
      if (raw === null) return undefined
      const next = applyVersionUpdate(parseInfo(raw), update, this.#now())
      if (next === undefined) return undefined
      const updated = await command.call(
        this.#redis,
        this.#keys.modelVersions(modelId),
        this.#keys.modelState(modelId, version),
        String(version),
        raw,
        JSON.stringify(next),
        stateJson ?? '',
      )
      if (updated === 1) return next
    }
    throw new Error(`model ${modelId} version ${version} keeps changing; giving up after 10 attempts`)
  }

  async #register(
    modelId: string,
    stateJson: string,
    meta: ModelVersionMeta,
    status: ModelStatus,
  ): Promise<ModelVersionInfo> {
    // Version 0 is a placeholder the Lua script replaces with the new version number.
    const info = versionInfo(modelId, 0, meta, this.#now(), status)
    const register = (this.#redis as unknown as { mvadRegisterModelVersion: RegisterCommand }).mvadRegisterModelVersion
    const statePrefix = this.#statePrefix(modelId)
    const version = await register.call(
      this.#redis,
      this.#keys.modelVersionSeq(modelId),
      this.#keys.modelVersions(modelId),
      statePrefix,
      JSON.stringify(info),
      stateJson,
    )
    await this.#redis.sadd(this.#keys.modelIndex(), modelId)
    return { ...info, version }
  }

  async getInfo(modelId: string, version?: number): Promise<ModelVersionInfo | undefined> {
    const v = version ?? Number((await this.#redis.get(this.#keys.modelVersionSeq(modelId))) ?? 0)
    if (v <= 0) return undefined
    const raw = await this.#redis.hget(this.#keys.modelVersions(modelId), String(v))
    return raw === null ? undefined : parseInfo(raw)
  }

  async getReadyState(
    modelId: string,
    version?: number,
  ): Promise<{ info: ModelVersionInfo; stateJson: string } | undefined> {
    const candidates =
      version === undefined
        ? (await this.listVersions(modelId)).filter((i) => i.status === 'READY').sort((a, b) => b.version - a.version)
        : [await this.getInfo(modelId, version)].filter((i): i is ModelVersionInfo => i?.status === 'READY')
    const info = candidates[0]
    if (info === undefined) return undefined
    const stateJson = await this.#redis.get(this.#keys.modelState(modelId, info.version))
    return stateJson === null ? undefined : { info, stateJson }
  }

  async listVersions(modelId: string): Promise<ModelVersionInfo[]> {
    const all = await this.#redis.hgetall(this.#keys.modelVersions(modelId))
    return Object.values(all)
      .map(parseInfo)
      .sort((a, b) => a.version - b.version)
  }

  async listModelIds(): Promise<string[]> {
    return (await this.#redis.smembers(this.#keys.modelIndex())).sort()
  }

  /** The state key of version v is this prefix followed by v (what keySpace.modelState builds): for the Lua scripts. */
  #statePrefix(modelId: string): string {
    return this.#keys.modelState(modelId, 0).replace(/0$/, '')
  }

  // A delete claim is a string set only when absent, ended by its TTL; bind claims are members of a sorted set
  // scored by when they end, in the Redis server's time (lua/scripts.ts): every instance reads one clock.
  async claim(modelId: string, kind: ClaimKind, holdMs: number): Promise<string | undefined> {
    const token = randomUUID()
    const hold = Math.max(1, holdMs)
    if (kind === 'delete') {
      const set = await this.#redis.set(this.#keys.modelDeleting(modelId), token, 'PX', hold, 'NX')
      return set === 'OK' ? token : undefined
    }
    const claimBind = (this.#redis as unknown as { mvadClaimBind: BindClaimCommand }).mvadClaimBind
    await claimBind.call(this.#redis, this.#keys.modelBinding(modelId), token, hold)
    return token
  }

  async renewClaim(modelId: string, kind: ClaimKind, token: string, holdMs: number): Promise<boolean> {
    const hold = Math.max(1, holdMs)
    if (kind === 'delete') {
      const renew = (this.#redis as unknown as { mvadRenewClaim: RenewClaimCommand }).mvadRenewClaim
      return (await renew.call(this.#redis, this.#keys.modelDeleting(modelId), token, hold)) === 1
    }
    const renew = (this.#redis as unknown as { mvadRenewBindClaim: BindClaimCommand }).mvadRenewBindClaim
    return (await renew.call(this.#redis, this.#keys.modelBinding(modelId), token, hold)) === 1
  }

  async releaseClaim(modelId: string, kind: ClaimKind, token: string): Promise<void> {
    if (kind === 'bind') {
      await this.#redis.zrem(this.#keys.modelBinding(modelId), token)
      return
    }
    const release = (this.#redis as unknown as { mvadReleaseClaim: ReleaseClaimCommand }).mvadReleaseClaim
    await release.call(this.#redis, this.#keys.modelDeleting(modelId), token)
  }

  async isClaimed(modelId: string, kind: ClaimKind): Promise<boolean> {
    if (kind === 'delete') return (await this.#redis.exists(this.#keys.modelDeleting(modelId))) === 1
    const count = (this.#redis as unknown as { mvadCountBindClaims: CountBindClaimsCommand }).mvadCountBindClaims
    return (await count.call(this.#redis, this.#keys.modelBinding(modelId))) > 0
  }

  async deleteModel(modelId: string, token: string): Promise<DeleteOutcome> {
    const command = (this.#redis as unknown as { mvadDeleteModel: DeleteCommand }).mvadDeleteModel
    const held = await command.call(
      this.#redis,
      this.#keys.modelVersionSeq(modelId),
      this.#keys.modelVersions(modelId),
      this.#keys.modelDeleting(modelId),
      this.#statePrefix(modelId),
      token,
    )
    if (held < 0) return 'claimLost'
    // The index is another key (another cluster slot): removed after the versions, so a listed model has them.
    const removed = await this.#redis.srem(this.#keys.modelIndex(), modelId)
    return removed === 1 || held > 0 ? 'deleted' : 'absent'
  }
}

function parseInfo(raw: string): ModelVersionInfo {
  return JSON.parse(raw) as ModelVersionInfo
}
