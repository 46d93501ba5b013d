/** WindowStore on Redis: rows as binary list items, meta hash, pending events; appends via one Lua script. */
import type { Redis } from 'ioredis'
import type { KeySpace } from './keys.js'
import { APPEND_WINDOW_LUA, CLEAR_PENDING_EVENTS_LUA } from './lua/scripts.js'
import {
  decodeRow,
  encodeRow,
  type AppendResult,
  type StoredWindow,
  type WindowAppend,
  type WindowStore,
} from './window-store.js'

type AppendWindowCommand = (
  rowsKey: string,
  metaKey: string,
  pendingKey: string,
  ...args: (string | Buffer)[]
) => Promise<[number, string?]>

export class RedisWindowStore implements WindowStore {
  readonly #redis: Redis
  readonly #keys: KeySpace
  readonly #idleTtlSeconds: number

  constructor(redis: Redis, keys: KeySpace, options: { idleTtlSeconds: number }) {
    this.#redis = redis
    this.#keys = keys
    this.#idleTtlSeconds = options.idleTtlSeconds
    if (!('mvadAppendWindow' in redis)) {
      redis.defineCommand('mvadAppendWindow', { numberOfKeys: 3, lua: APPEND_WINDOW_LUA })
      redis.defineCommand('mvadClearPendingEvents', { numberOfKeys: 2, lua: CLEAR_PENDING_EVENTS_LUA })
    }
  }

  async load(entity: string): Promise<StoredWindow | undefined> {
    const [rowsResult, metaResult, pendingResult] = (await this.#redis
      .multi()
      .lrangeBuffer(this.#keys.windowRows(entity), 0, -1)
      .hgetall(this.#keys.windowMeta(entity))
      .lrange(this.#keys.windowPendingEvents(entity), 0, -1)
      .exec()) as [[Error | null, Buffer[]], [Error | null, Record<string, string>], [Error | null, string[]]]
    for (const [error] of [rowsResult, metaResult, pendingResult]) if (error) throw error
    const meta = metaResult[1]
    if (meta.coveredOffset === undefined) return undefined
    const timestamps: number[] = []
    const rows: Float64Array[] = []
    for (const item of rowsResult[1]) {
      const { timestamp, row } = decodeRow(item)
      timestamps.push(timestamp)
      rows.push(row)
    }
    return {
      modelKey: meta.modelKey ?? '',
      timestamps,
      rows,
      coveredOffset: BigInt(meta.coveredOffset),
      pendingEvents: pendingResult[1],
    }
  }

  async append(entity: string, capacity: number, change: WindowAppend): Promise<AppendResult> {
    const encodedRows = change.rows.map((row, i) => encodeRow(change.timestamps[i] as number, row))
    const command = (this.#redis as unknown as { mvadAppendWindow: AppendWindowCommand }).mvadAppendWindow
    const [ok, current] = await command.call(
      this.#redis,
      this.#keys.windowRows(entity),
      this.#keys.windowMeta(entity),
      this.#keys.windowPendingEvents(entity),
      String(capacity),
      change.expectedCoveredOffset.toString(),
      change.coveredOffset.toString(),
      change.modelKey,
      change.replace ? '1' : '0',
      String(this.#idleTtlSeconds),
      String(encodedRows.length),
      ...encodedRows,
      ...change.pendingEvents,
    )
    return ok === 1 ? { ok: true } : { ok: false, currentCoveredOffset: BigInt(current ?? '-1') }
  }

  async clearPendingEvents(acknowledged: readonly { entity: string; coveredOffset: bigint }[]): Promise<void> {
    if (acknowledged.length === 0) return
    // One script per entity (each touches one hash-tag slot), sent in one pipeline round trip.
    const pipeline = this.#redis.pipeline() as unknown as {
      mvadClearPendingEvents: (meta: string, pending: string, offset: string) => void
      exec: () => Promise<[Error | null, unknown][] | null>
    }
    for (const { entity, coveredOffset } of acknowledged) {
      pipeline.mvadClearPendingEvents(
        this.#keys.windowMeta(entity),
        this.#keys.windowPendingEvents(entity),
        coveredOffset.toString(),
      )
    }
    const results = (await pipeline.exec()) ?? []
    for (const [error] of results) if (error) throw error
  }

  async saveProgress(scope: string, partition: number, offset: bigint): Promise<void> {
    await this.#redis.set(this.#keys.partitionProgress(scope, partition), offset.toString())
  }

  async loadProgress(scope: string, partition: number): Promise<bigint | undefined> {
    const stored = await this.#redis.get(this.#keys.partitionProgress(scope, partition))
    return stored === null ? undefined : BigInt(stored)
  }

  async delete(entity: string): Promise<void> {
    await this.#redis.del(
      this.#keys.windowRows(entity),
      this.#keys.windowMeta(entity),
      this.#keys.windowPendingEvents(entity),
    )
  }
}
