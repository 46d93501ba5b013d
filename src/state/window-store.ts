/**
 * WindowStore port: the last `capacity` frames of each entity, with the Kafka offset they cover and the events
 * computed from them but not yet acknowledged. One append is atomic (rows + offset + pending events), and guarded
 * by the offset the caller last saw, so two workers racing for an entity during a rebalance cannot both append.
 */
import type { EpochMs } from '../domain/types.js'

export interface StoredWindow {
  /** Which model (id@version) the rows were aligned for; a different model starts a new window. */
  modelKey: string
  timestamps: EpochMs[]
  rows: Float64Array[]
  /** Largest Kafka offset of a reading included in the rows; -1n when none. */
  coveredOffset: bigint
  /** Serialized events persisted with the rows and not yet acknowledged by the event sink. */
  pendingEvents: string[]
}

export interface WindowAppend {
  modelKey: string
  /** The coveredOffset the caller based this append on (-1n for a new window). */
  expectedCoveredOffset: bigint
  /** When true, existing rows are discarded first (new window, e.g. warm start from a model's training tail). */
  replace: boolean
  timestamps: EpochMs[]
  rows: Float64Array[]
  coveredOffset: bigint
  pendingEvents: string[]
}

export type AppendResult = { ok: true } | { ok: false; currentCoveredOffset: bigint }

export interface WindowStore {
  load(entity: string): Promise<StoredWindow | undefined>
  /** Appends rows, trims to `capacity`, sets the covered offset and the pending events (replacing older ones). */
  append(entity: string, capacity: number, change: WindowAppend): Promise<AppendResult>
  /**
   * Removes pending events after the sink acknowledged them — per entity, only if its coveredOffset is still the
   * one written with those events (a newer writer's pending events are left alone).
   */
  clearPendingEvents(acknowledged: readonly { entity: string; coveredOffset: bigint }[]): Promise<void>
  delete(entity: string): Promise<void>
  /**
   * The input offset a partition's windows reflect: saved after every window of a batch is written and before the
   * offset is committed to Kafka, so it is never behind the commit while the store keeps its writes. A store that
   * came back with older data shows an older one, which is where the partition is read again from
   * (stream-service.ts). `scope` names the consumer group and topic.
   */
  saveProgress(scope: string, partition: number, offset: bigint): Promise<void>
  loadProgress(scope: string, partition: number): Promise<bigint | undefined>
}

/** In-memory WindowStore: the reference behaviour for the contract suite, and for tests and the offline replay. */
export class MemoryWindowStore implements WindowStore {
  readonly #windows = new Map<string, StoredWindow>()
  readonly #progress = new Map<string, bigint>()

  load(entity: string): Promise<StoredWindow | undefined> {
    const window = this.#windows.get(entity)
    return Promise.resolve(window === undefined ? undefined : cloneWindow(window))
  }

  append(entity: string, capacity: number, change: WindowAppend): Promise<AppendResult> {
    const current = this.#windows.get(entity)
    const currentOffset = current?.coveredOffset ?? -1n
    if (currentOffset !== change.expectedCoveredOffset) {
      return Promise.resolve({ ok: false, currentCoveredOffset: currentOffset })
    }
    const base = change.replace || current === undefined ? { timestamps: [], rows: [] } : current
    const timestamps = [...base.timestamps, ...change.timestamps].slice(-capacity)
    const rows = [...base.rows, ...change.rows.map((row) => Float64Array.from(row))].slice(-capacity)
    this.#windows.set(entity, {
      modelKey: change.modelKey,
      timestamps,
      rows,
      coveredOffset: change.coveredOffset,
      pendingEvents: [...change.pendingEvents],
    })
    return Promise.resolve({ ok: true })
  }

  clearPendingEvents(acknowledged: readonly { entity: string; coveredOffset: bigint }[]): Promise<void> {
    for (const { entity, coveredOffset } of acknowledged) {
      const window = this.#windows.get(entity)
      if (window !== undefined && window.coveredOffset === coveredOffset) window.pendingEvents = []
    }
    return Promise.resolve()
  }

  delete(entity: string): Promise<void> {
    this.#windows.delete(entity)
    return Promise.resolve()
  }

  saveProgress(scope: string, partition: number, offset: bigint): Promise<void> {
    this.#progress.set(`${scope}\u0000${partition}`, offset)
    return Promise.resolve()
  }

  loadProgress(scope: string, partition: number): Promise<bigint | undefined> {
    return Promise.resolve(this.#progress.get(`${scope}\u0000${partition}`))
  }
}

function cloneWindow(window: StoredWindow): StoredWindow {
  return {
    modelKey: window.modelKey,
    timestamps: [...window.timestamps],
    rows: window.rows.map((row) => Float64Array.from(row)),
    coveredOffset: window.coveredOffset,
    pendingEvents: [...window.pendingEvents],
  }
}

/** Row codec for Redis: 8-byte float64 LE timestamp followed by the values. Compact and exact. */
export function encodeRow(timestamp: EpochMs, row: Float64Array): Buffer {
  const buffer = Buffer.allocUnsafe(8 * (row.length + 1))
  buffer.writeDoubleLE(timestamp, 0)
  for (let j = 0; j < row.length; j++) buffer.writeDoubleLE(row[j] as number, 8 * (j + 1))
  return buffer
}

export function decodeRow(buffer: Buffer): { timestamp: EpochMs; row: Float64Array } {
  if (buffer.length % 8 !== 0 || buffer.length < 8) throw new Error(`window row of ${buffer.length} bytes`)
  const count = buffer.length / 8 - 1
  const row = new Float64Array(count)
  for (let j = 0; j < count; j++) row[j] = buffer.readDoubleLE(8 * (j + 1))
  return { timestamp: buffer.readDoubleLE(0), row }
}
