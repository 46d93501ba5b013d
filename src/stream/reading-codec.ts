/**
 * Reading codec (pure). Format of a readings-topic message, key = entity (UTF-8):
 *   per-variable  {"variable": "cpu", "timestamp": "2024-01-01T00:00:00Z" | 1704067200000, "value": 0.25}
 *   frame         {"timestamp": ..., "values": {"cpu": 0.25, "mem": 0.5}}
 * JSON by default; registry-encoded Avro (Confluent wire format, magic byte 0) is decoded to the same object shapes
 * by the adapter before `validateReadingObject`. Failures are data (`DecodeFailure` with a reason code), never throws.
 */
import { MAX_ABS_VALUE } from '../data/limits.js'
import { parseIsoTimestamp } from '../data/timestamp.js'
import type { EpochMs } from '../domain/types.js'

export interface DecodedReading {
  variable: string
  timestamp: EpochMs
  value: number
}

export const DECODE_FAILURE_REASONS = [
  'missing_key',
  'key_too_long',
  'malformed_json',
  'wrong_shape',
  'bad_timestamp',
  'timestamp_out_of_bounds',
  'timestamp_in_future',
  'non_finite_value',
  'schema_registry_decode_failed',
] as const
export type DecodeFailureReason = (typeof DECODE_FAILURE_REASONS)[number]

export interface DecodeFailure {
  ok: false
  reason: DecodeFailureReason
  detail: string
}

export interface DecodeSuccess {
  ok: true
  readings: DecodedReading[]
}

export type DecodeResult = DecodeSuccess | DecodeFailure

export interface TimestampBounds {
  /** Earliest accepted timestamp (epoch ms). @defaultValue 2000-01-01T00:00:00Z */
  min: EpochMs
  /** Latest accepted timestamp (epoch ms). @defaultValue 2100-01-01T00:00:00Z */
  max: EpochMs
}

export const DEFAULT_TIMESTAMP_BOUNDS: TimestampBounds = Object.freeze({
  min: Date.UTC(2000, 0, 1),
  max: Date.UTC(2100, 0, 1),
})

/**
 * The failure of a record whose readings run more than `maxFutureMs` ahead of its own Kafka timestamp: one reading
 * from a wrong clock (2099, say) would open a frame nothing later can follow. The stream and topic ranges apply it
 * alike. Not checked with `maxFutureMs` 0 or a record without a timestamp of its own (-1: old message formats).
 */
export function readingsAhead(
  readings: readonly DecodedReading[],
  kafkaTimestamp: EpochMs,
  maxFutureMs: number,
): DecodeFailure | undefined {
  if (!(maxFutureMs > 0) || !(kafkaTimestamp > 0)) return undefined
  const ahead = readings.find((r) => r.timestamp - kafkaTimestamp > maxFutureMs)
  if (ahead === undefined) return undefined
  return fail(
    'timestamp_in_future',
    `timestamp ${new Date(ahead.timestamp).toISOString()} is more than ${maxFutureMs} ms ahead of the record's Kafka timestamp ${new Date(kafkaTimestamp).toISOString()} (MVAD_MAX_FUTURE_MS)`,
  )
}

/** Bytes of the Confluent wire format's frame before the encoded value: a magic 0 byte and the schema id. */
export const REGISTRY_FRAME_BYTES = 5

/** True when the payload is in the Confluent wire format (JSON text never starts with a 0 byte). */
export function isRegistryEncoded(payload: Buffer): boolean {
  return payload.length >= REGISTRY_FRAME_BYTES && payload[0] === 0
}

export function decodeJsonReading(payload: Buffer, bounds: TimestampBounds = DEFAULT_TIMESTAMP_BOUNDS): DecodeResult {
  let parsed: unknown
  try {
    parsed = JSON.parse(payload.toString('utf8'))
  } catch (error) {
    return fail('malformed_json', error instanceof Error ? error.message : 'not JSON')
  }
  return validateReadingObject(parsed, bounds)
}

export function validateReadingObject(
  input: unknown,
  bounds: TimestampBounds = DEFAULT_TIMESTAMP_BOUNDS,
): DecodeResult {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return fail('wrong_shape', 'expected an object {variable, timestamp, value} or {timestamp, values}')
  }
  const record = input as Record<string, unknown>
  const timestamp = parseTimestamp(record.timestamp)
  if (timestamp === undefined) {
    return fail('bad_timestamp', `timestamp ${JSON.stringify(record.timestamp)} is not ISO 8601 or epoch milliseconds`)
  }
  if (timestamp < bounds.min || timestamp >= bounds.max) {
    return fail(
      'timestamp_out_of_bounds',
      `timestamp ${new Date(timestamp).toISOString()} outside [${new Date(bounds.min).toISOString()}, ${new Date(bounds.max).toISOString()})`,
    )
  }
  if ('values' in record) {
    if ('variable' in record || 'value' in record) {
      return fail('wrong_shape', 'a reading is {variable, timestamp, value} or a frame {timestamp, values}, not both')
    }
    const values = record.values
    if (values === null || typeof values !== 'object' || Array.isArray(values)) {
      return fail('wrong_shape', '"values" must be an object of variable → number')
    }
    const entries = Object.entries(values as Record<string, unknown>)
    if (entries.length === 0) return fail('wrong_shape', '"values" is empty')
    const readings: DecodedReading[] = []
    for (const [variable, value] of entries) {
      // A missing value in a frame (JSON null, or NaN: all Avro's map<double> can say) is left out, as if its key
      // were: the frame is filled by the model's fillNAMethod, and the frame's other values still count.
      if (value === null || Number.isNaN(value)) continue
      const checked = checkValue(variable, value)
      if (checked !== undefined) return checked
      readings.push({ variable, timestamp, value: value as number })
    }
    if (readings.length === 0) {
      return fail('wrong_shape', '"values" has no number: every value is null or NaN (a missing value)')
    }
    return { ok: true, readings }
  }
  const { variable, value } = record
  if (typeof variable !== 'string' || variable === '') {
    return fail('wrong_shape', '"variable" must be a non-empty string (or send "values" for a frame)')
  }
  const checked = checkValue(variable, value)
  if (checked !== undefined) return checked
  return { ok: true, readings: [{ variable, timestamp, value: value as number }] }
}

function checkValue(variable: string, value: unknown): DecodeFailure | undefined {
  if (value === null) {
    return fail('wrong_shape', `value of "${variable}" is null: leave a missing reading out (its frame is filled)`)
  }
  if (typeof value !== 'number')
    return fail('wrong_shape', `value of "${variable}" must be a number, got ${typeof value}`)
  if (!Number.isFinite(value)) return fail('non_finite_value', `value of "${variable}" is ${value}`)
  if (Math.abs(value) > MAX_ABS_VALUE) {
    return fail(
      'non_finite_value',
      `value of "${variable}" is ${value}, outside ±${MAX_ABS_VALUE} (too large to score)`,
    )
  }
  return undefined
}

// RFC 3339 (the schema's date-time) allows a lower-case t and z.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i

function parseTimestamp(raw: unknown): EpochMs | undefined {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw : undefined
  if (typeof raw === 'bigint') return Number(raw)
  // The calendar is checked too (Date.parse would take 2024-02-30 as 1 March and T24:00 as the next day).
  if (typeof raw === 'string' && ISO_8601.test(raw)) return parseIsoTimestamp(raw)
  return undefined
}

function fail(reason: DecodeFailureReason, detail: string): DecodeFailure {
  return { ok: false, reason, detail }
}
