/**
 * Anomaly events (pure). Format on the events topic (JSON; Avro with the registry — schemas/avro/anomaly-event.v1):
 *   {eventId, entity, modelId, modelVersion, timestamp (ISO; ms only when not 0), isAnomaly, score, severity, interpretation,
 *    shadow?, filledVariables?}
 * eventId is a UUID-shaped SHA-256 of entity, model id, model version and timestamp: a frame re-scored after a
 * crash or rebalance yields the same id, so consumers can de-duplicate.
 */
import { createHash } from 'node:crypto'
import type { AnomalyValue, EpochMs } from '../domain/types.js'

export interface AnomalyEvent {
  eventId: string
  entity: string
  modelId: string
  modelVersion: number
  timestamp: string
  isAnomaly: boolean
  score: number
  severity: number
  interpretation: AnomalyValue['interpretation']
  shadow?: boolean
  /**
   * The variables of this frame whose readings had not arrived when it was scored, filled by the model's
   * fillNAMethod (late or silent producers); absent when every value arrived.
   */
  filledVariables?: string[]
}

export function eventId(entity: string, modelId: string, modelVersion: number, timestamp: EpochMs): string {
  const hex = createHash('sha256')
    .update(`${entity}\u0000${modelId}\u0000${modelVersion}\u0000${timestamp}`)
    .digest('hex')
  // RFC 9562 layout with version 8 (custom) and the RFC variant bits.
  const variant = ((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

/** ISO 8601 without milliseconds when they are zero, as MVAD writes timestamps. */
export function isoTimestamp(timestamp: EpochMs): string {
  const iso = new Date(timestamp).toISOString()
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso
}

export function toAnomalyEvent(
  entity: string,
  model: { modelId: string; version: number },
  timestamp: EpochMs,
  value: AnomalyValue,
  filledVariables: readonly string[] = [],
): AnomalyEvent {
  return {
    eventId: eventId(entity, model.modelId, model.version, timestamp),
    entity,
    modelId: model.modelId,
    modelVersion: model.version,
    timestamp: isoTimestamp(timestamp),
    isAnomaly: value.isAnomaly,
    score: value.score,
    severity: value.severity,
    interpretation: value.interpretation,
    ...(filledVariables.length === 0 ? {} : { filledVariables: [...filledVariables] }),
  }
}
