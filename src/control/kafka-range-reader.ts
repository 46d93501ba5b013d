/**
 * Reads one entity's readings from a range of a readings topic (Kafka adapter for batch replay and training).
 * The scan is bounded per partition by offsets taken when the job starts: from `fromTime` (offsets-for-times on
 * Kafka's record timestamps: the producer's time unless the topic uses LogAppendTime) or the earliest offset, to
 * `toTime` or the high watermark — so a live topic still gives a finite, reproducible range. Messages of other entities are skipped; the entity's undecodable messages
 * are returned as rejected records with their partition, offset and reason (failed records are reported, not lost).
 * A throw-away consumer group is used (kafkajs consumers need one) and deleted afterwards.
 */
import { randomUUID } from 'node:crypto'
import type { Kafka } from 'kafkajs'
import { ServiceError } from '../errors.js'
import { boundedDetail } from '../kafka/dead-letter.js'
import { readingsAhead, type DecodeResult } from '../stream/reading-codec.js'
import { ReadingsPacker, type PackedReadings } from './readings-series.js'

export interface RejectedRecord {
  partition: number
  offset: string
  reason: string
  detail: string
}

export interface ReadingsRange {
  topic: string
  entity: string
  /** Epoch ms bounds on Kafka's record timestamps (the producer's time unless the topic uses LogAppendTime). */
  fromTime?: number
  toTime?: number
}

export interface ReadingsRangeResult {
  /** Packed as they arrive (no object per reading kept on this thread; see readings-series.ts). */
  readings: PackedReadings
  rejected: RejectedRecord[]
  /** Messages scanned (all entities). */
  scanned: number
}

/** Port: what training and batch replay need from a readings topic. */
export interface ReadingsRangeReader {
  read(range: ReadingsRange, signal: AbortSignal, onProgress?: (fraction: number) => void): Promise<ReadingsRangeResult>
}

export interface KafkaRangeReaderOptions {
  /** Prefix of the throw-away consumer group ids. */
  groupPrefix: string
  decode: (payload: Buffer) => DecodeResult | Promise<DecodeResult>
  /** Give up when no message arrives for this long while offsets remain. @defaultValue 30 s */
  stallTimeoutMs?: number
  /**
   * Most readings of the entity one read may hold (32 bytes each, packed): a range over a long retained history
   * fails with DataExceedsLimit instead of exhausting the service's memory. @defaultValue 10,000,000
   */
  maxReadings?: number
  /**
   * Most records of the entity that cannot be read (undecodable, dated in the future) one read keeps to report: past
   * this the range fails with DataExceedsLimit, so a producer writing in the wrong format cannot fill the memory.
   * @defaultValue MAX_REJECTED_RECORDS (100,000)
   */
  maxRejected?: number
  /**
   * A reading more than this many ms ahead of its record's Kafka timestamp is rejected (timestamp_in_future), as the
   * stream dead-letters it: a range must not train on what the stream refused. 0 = no check. @defaultValue 0
   */
  maxFutureMs?: number
}

export const DEFAULT_MAX_RANGE_READINGS = 10_000_000

export class KafkaRangeReader implements ReadingsRangeReader {
  readonly #kafka: Kafka
  readonly #options: KafkaRangeReaderOptions

  constructor(kafka: Kafka, options: KafkaRangeReaderOptions) {
    this.#kafka = kafka
    this.#options = options
  }

  async read(
    range: ReadingsRange,
    signal: AbortSignal,
    onProgress?: (fraction: number) => void,
  ): Promise<ReadingsRangeResult> {
    const bounds = await this.#bounds(range)
    const remaining = new Map([...bounds].filter(([, b]) => b.end > b.start))
    const total = [...remaining.values()].reduce((sum, b) => sum + Number(b.end - b.start), 0)
    const maxReadings = this.#options.maxReadings ?? DEFAULT_MAX_RANGE_READINGS
    const packer = new ReadingsPacker(maxReadings)
    const rejected: RejectedRecord[] = []
    let scanned = 0
    const result = (): ReadingsRangeResult => ({ readings: packer.packed(), rejected, scanned })
    if (remaining.size === 0) return result()
    const groupId = `${this.#options.groupPrefix}.${randomUUID()}`
    const consumer = this.#kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 200 })
    let lastProgress = Date.now()
    let failure: Error | undefined
    /** Set when a limit is passed; the read loop below gives up with it, and nothing more is kept. */
    let overLimit: ServiceError | undefined
    const maxRejected = this.#options.maxRejected ?? MAX_REJECTED_RECORDS
    const reject = (record: RejectedRecord): void => {
      rejected.push(record)
      if (rejected.length > maxRejected) overLimit = tooManyRejected(range, maxRejected, record)
    }
    // A batch holding only transaction markers or aborted messages never reaches eachBatch, but kafkajs still reports
    // it as processed: a range that ends in one (an aborted transaction, a lone commit marker) is done there, not
    // stalled.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const bound = payload.topic === range.topic ? remaining.get(payload.partition) : undefined
      if (bound === undefined) return
      lastProgress = Date.now()
      if (BigInt(payload.lastOffset) >= bound.end - 1n) remaining.delete(payload.partition)
    })
    try {
      await consumer.connect()
      await consumer.subscribe({ topic: range.topic, fromBeginning: true })
      await consumer.run({
        autoCommit: false,
        eachBatch: async (payload) => {
          const { batch } = payload
          const bound = remaining.get(batch.partition)
          if (bound === undefined) return
          for (const message of batch.messages) {
            const offset = BigInt(message.offset)
            if (offset < bound.start || offset >= bound.end) continue
            lastProgress = Date.now()
            scanned++
            if (message.key?.toString('utf8') !== range.entity) continue
            const decoded = await this.#options.decode(message.value ?? Buffer.alloc(0))
            if (!decoded.ok) {
              reject({
                partition: batch.partition,
                offset: message.offset,
                reason: decoded.reason,
                detail: decoded.detail,
              })
              if (overLimit !== undefined) return
              continue
            }
            const ahead = readingsAhead(decoded.readings, Number(message.timestamp), this.#options.maxFutureMs ?? 0)
            if (ahead !== undefined) {
              reject({ partition: batch.partition, offset: message.offset, reason: ahead.reason, detail: ahead.detail })
              if (overLimit !== undefined) return
              continue
            }
            if (packer.count + decoded.readings.length > maxReadings) {
              overLimit = tooManyReadings(range, maxReadings)
              return
            }
            for (const r of decoded.readings) packer.add(r, offset, batch.partition)
          }
          const last = BigInt(batch.lastOffset())
          if (last >= bound.end - 1n) remaining.delete(batch.partition)
          onProgress?.(total === 0 ? 1 : Math.min(1, scanned / total))
          await payload.heartbeat()
        },
      })
      // Start each partition at its bound (the group is new, so without a seek it would start at the beginning).
      for (const [partition, bound] of remaining) {
        consumer.seek({ topic: range.topic, partition, offset: bound.start.toString() })
      }
      const stallMs = this.#options.stallTimeoutMs ?? 30_000
      while (remaining.size > 0) {
        if (signal.aborted) throw new ServiceError('JobCanceled', 'the job was canceled while reading the topic')
        if (overLimit !== undefined) throw overLimit
        if (Date.now() - lastProgress > stallMs) {
          throw new ServiceError(
            'KafkaError',
            `reading ${range.topic} stalled: partitions ${[...remaining.keys()].join(', ')} sent nothing for ${stallMs} ms`,
            { retriable: true },
          )
        }
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      if (overLimit !== undefined) throw overLimit // also when the last partitions ended meanwhile
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error))
    } finally {
      await consumer.disconnect().catch(() => undefined)
      await this.#deleteGroup(groupId)
    }
    if (failure !== undefined) throw failure
    return result()
  }

  async #bounds(range: ReadingsRange): Promise<Map<number, { start: bigint; end: bigint }>> {
    const admin = this.#kafka.admin()
    await admin.connect()
    try {
      const topics = await admin.listTopics()
      if (!topics.includes(range.topic)) {
        throw new ServiceError('InvalidRequestParameterError', `topic ${range.topic} does not exist`)
      }
      const offsets = await admin.fetchTopicOffsets(range.topic)
      const byTime = async (time: number | undefined): Promise<Map<number, bigint> | undefined> => {
        if (time === undefined) return undefined
        const found = await admin.fetchTopicOffsetsByTimestamp(range.topic, time)
        return new Map(found.map((p) => [p.partition, BigInt(p.offset)]))
      }
      const from = await byTime(range.fromTime)
      // The first offset at or after toTime + 1 ms is the first one past the range.
      const to = await byTime(range.toTime === undefined ? undefined : range.toTime + 1)
      const bounds = new Map<number, { start: bigint; end: bigint }>()
      for (const p of offsets) {
        const low = BigInt(p.low)
        const high = BigInt(p.high)
        // Offsets-for-times answers -1 (or the high watermark) when no message is that recent.
        const clamp = (v: bigint | undefined, fallback: bigint): bigint =>
          v === undefined || v < 0n ? fallback : v < low ? low : v > high ? high : v
        bounds.set(p.partition, {
          start: clamp(from?.get(p.partition), from === undefined ? low : high),
          end: clamp(to?.get(p.partition), high),
        })
      }
      return bounds
    } finally {
      await admin.disconnect()
    }
  }

  async #deleteGroup(groupId: string): Promise<void> {
    const admin = this.#kafka.admin()
    try {
      await admin.connect()
      await admin.deleteGroups([groupId])
    } catch {
      // Best effort: an empty group with no offsets expires on its own.
    } finally {
      await admin.disconnect().catch(() => undefined)
    }
  }
}

/** See KafkaRangeReaderOptions.maxRejected. */
export const MAX_REJECTED_RECORDS = 100_000

function tooManyRejected(range: ReadingsRange, maxRejected: number, last: RejectedRecord): ServiceError {
  return new ServiceError(
    'DataExceedsLimit',
    `entity ${range.entity} has more than ${maxRejected} records in the range of ${range.topic} that cannot ` +
      `be read (the last: ${last.reason} at partition ${last.partition} offset ${last.offset}: ` +
      `${boundedDetail(last.detail)}); ` +
      'fix their producer, or narrow the range (fromTime/toTime)',
  )
}

function tooManyReadings(range: ReadingsRange, maxReadings: number): ServiceError {
  return new ServiceError(
    'DataExceedsLimit',
    `entity ${range.entity} has more than ${maxReadings} readings in the range of ${range.topic}; narrow it (fromTime/toTime)`,
  )
}
