/**
 * The readings topic's offsets as this consumer group sees them, read through one long-lived admin client: the
 * committed offsets (with their metadata) for the stored-progress check, and the watermarks for the lag gauge.
 * The lag must be refreshed from the broker, not only after each batch: while a partition is paused (Redis lost its
 * data) or its batch keeps failing (Redis down, registry refusing), no batch completes and a lag set per batch would
 * stay at its last, small value exactly when it grows.
 */
import type { Admin, Kafka } from 'kafkajs'

export interface CommittedOffset {
  /** Undefined when the group has committed nothing for the partition. */
  offset: bigint | undefined
  metadata: string | null
}

export interface Watermarks {
  low: bigint
  high: bigint
}

export class GroupOffsets {
  readonly #kafka: Kafka
  readonly #groupId: string
  readonly #topic: string
  #admin: Promise<Admin> | undefined
  /** Requests in flight on the current client: one failing must not close it under the others. */
  #inFlight = 0

  constructor(kafka: Kafka, groupId: string, topic: string) {
    this.#kafka = kafka
    this.#groupId = groupId
    this.#topic = topic
  }

  async committed(): Promise<Map<number, CommittedOffset>> {
    const [topic] = await this.#use((admin) => admin.fetchOffsets({ groupId: this.#groupId, topics: [this.#topic] }))
    const offsets = new Map<number, CommittedOffset>()
    for (const { partition, offset, metadata } of topic?.partitions ?? []) {
      offsets.set(partition, { offset: BigInt(offset) < 0n ? undefined : BigInt(offset), metadata })
    }
    return offsets
  }

  async watermarks(): Promise<Map<number, Watermarks>> {
    const partitions = await this.#use((admin) => admin.fetchTopicOffsets(this.#topic))
    return new Map(partitions.map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }]))
  }

  async close(): Promise<void> {
    const admin = this.#admin
    this.#admin = undefined
    await admin?.then((a) => a.disconnect()).catch(() => undefined)
  }

  /**
   * A failed request drops the client, so the next one connects afresh (the broker it knew may be gone) — once no
   * other request is in flight on it: the lag refresh failing in a broker restart must not fail the stored-progress
   * check that shares the client (that check decides whether a partition is read again).
   */
  async #use<T>(request: (admin: Admin) => Promise<T>): Promise<T> {
    this.#admin ??= this.#connect()
    const pending = this.#admin
    this.#inFlight++
    let failed = false
    try {
      return await request(await pending)
    } catch (error) {
      failed = true
      throw error
    } finally {
      this.#inFlight--
      if (failed && this.#inFlight === 0 && this.#admin === pending) await this.close()
    }
  }

  async #connect(): Promise<Admin> {
    const admin = this.#kafka.admin()
    try {
      await admin.connect()
    } catch (error) {
      await admin.disconnect().catch(() => undefined) // a half-connected client holds sockets
      throw error
    }
    return admin
  }
}

/**
 * Readings waiting for a partition: from the next offset this instance would process (after its last processed
 * batch, else the group's commit, else where a group with no commit starts) to the high watermark. Undefined when
 * that start is unknown (a new group reading only new readings, before its first batch).
 */
export function readingsLag(
  processedNext: bigint | undefined,
  committed: bigint | undefined,
  watermarks: Watermarks,
  readingsStart: 'earliest' | 'latest',
): number | undefined {
  const next = processedNext ?? committed ?? (readingsStart === 'earliest' ? watermarks.low : undefined)
  if (next === undefined) return undefined
  // A retention that deleted unread readings moves the low watermark past `next`: those are lost, not waiting.
  const from = next < watermarks.low ? watermarks.low : next
  return from >= watermarks.high ? 0 : Number(watermarks.high - from)
}
