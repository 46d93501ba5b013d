/** Types of the partition worker's inputs, outputs and options (kept apart so helpers can share them). */
import type { EpochMs } from '../domain/types.js'
import type { AnomalyEvent } from './anomaly-event.js'
import type { LoadedModel } from './model-runtime.js'
import type { DecodeFailureReason, DecodeResult } from './reading-codec.js'

export interface InputMessage {
  key: Buffer | null
  value: Buffer | null
  offset: bigint
  /** Broker/producer timestamp (epoch ms), for end-to-end latency. */
  kafkaTimestamp: EpochMs
  /**
   * Not a record read from Kafka: a reading that waited in an incomplete frame, rebuilt as JSON after its entity's
   * model changed; `offset` is the smallest offset of the frame it waited in. Its dead letter says so.
   */
  rebuilt?: true
}

export type DeadLetterReason =
  DecodeFailureReason | 'unknown_entity' | 'unknown_variable' | 'late_after_emit' | 'late_beyond_lateness'

export interface DeadLetter {
  message: InputMessage
  reason: DeadLetterReason
  detail: string
}

export interface OutgoingEvent {
  entity: string
  event: AnomalyEvent
  /** To the events topic (anomalies) or only the scores topic. */
  isAnomaly: boolean
}

/** Where acknowledged output goes. The Kafka implementation waits for acks=all. */
export interface WorkerSink {
  publish(events: readonly OutgoingEvent[], deadLetters: readonly DeadLetter[]): Promise<void>
}

export interface WorkerObserver {
  readings(outcome: 'accepted' | 'replayed' | 'dead_lettered', count: number): void
  frameScored(model: LoadedModel, event: AnomalyEvent, scoringSeconds: number, ingestTimestamp: EpochMs): void
  /** A frame scored by the entity's shadow model (kept apart: shadow anomalies must not look like alerts). */
  shadowScored(model: LoadedModel, event: AnomalyEvent, scoringSeconds: number): void
  windowStoreSeconds(operation: 'load' | 'append' | 'clear', seconds: number): void
  /** Per scored frame, once its batch is acknowledged: seconds since its last reading was ingested by Kafka. */
  endToEndSeconds(seconds: number): void
  /** Incomplete frames of a silent entity scored with their missing values filled (see frameIdleFlushMs). */
  framesFlushedIdle(count: number): void
  /**
   * Frames that left with variables missing (filled by the model's fillNAMethod): past the allowed lateness, or
   * flushed idle. Counted so a producer whose readings arrive out of order sees its scores rest on filled values.
   */
  framesFilled(count: number): void
}

export interface PartitionWorkerOptions {
  allowedLatenessMs: number
  topContributorCount: number
  /** Publish every score (scores topic) and not only anomalies. */
  publishScores: boolean
  /**
   * An entity's incomplete frames are scored, their missing values filled, once the partition's newest message is
   * this many ms (Kafka timestamps) past the entity's last reading; 0 = they wait for the entity. Without it, an
   * entity that falls silent in the middle of a frame holds its partition's commit at that frame.
   */
  frameIdleFlushMs?: number
  /**
   * A reading more than this many ms ahead of its own Kafka timestamp is dead-lettered (timestamp_in_future); 0 = no
   * check. One reading from a wrong clock (2099, say) would otherwise open a frame no later reading can complete or
   * follow: every later reading of the entity is late, and the frame holds its partition's commit for good.
   */
  maxFutureMs?: number
  /** Synchronous for JSON (the hot path); a promise only when a registry lookup is needed. */
  decode: (message: InputMessage) => DecodeResult | Promise<DecodeResult>
}
