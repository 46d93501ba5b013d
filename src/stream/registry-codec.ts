/**
 * Schema-registry adapter (Confluent wire format through @kafkajs/confluent-schema-registry; works with Apicurio's
 * ccompat API). Registers the v1 Avro schemas under `<topic>-value` subjects and encodes/decodes with them.
 */
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry'
import type { RegistryAccess } from '../config/config.js'
import { ServiceError } from '../errors.js'
import { readSchemaText } from '../schema-files.js'
import type { AnomalyEvent } from './anomaly-event.js'
import {
  DEFAULT_TIMESTAMP_BOUNDS,
  decodeJsonReading,
  isRegistryEncoded,
  validateReadingObject,
  type DecodeResult,
} from './reading-codec.js'

export function readAvroSchema(name: 'reading.v1' | 'frame.v1' | 'anomaly-event.v1'): string {
  return readSchemaText(`avro/${name}.avsc`)
}

export class RegistryCodec {
  readonly #registry: SchemaRegistry
  #eventSchemaId: number | undefined

  constructor({ url, auth }: RegistryAccess) {
    // JSON Schemas (control commands) are checked in full by our own validator after decoding; the library's
    // validator knows no string formats ("date-time"), so it checks structure only.
    this.#registry = new SchemaRegistry(
      { host: url, ...(auth === undefined ? {} : { auth: { username: auth.username, password: auth.password } }) },
      { [SchemaType.JSON]: { strict: false, validateFormats: false } },
    )
  }

  /** Registers the event schema for the events and scores topics; returns its id. */
  async registerEventSchema(topics: readonly string[]): Promise<number> {
    const schema = readAvroSchema('anomaly-event.v1')
    let id = 0
    for (const topic of topics) {
      try {
        ;({ id } = await this.#registry.register({ type: SchemaType.AVRO, schema }, { subject: `${topic}-value` }))
      } catch (error) {
        throw new ServiceError('SchemaRegistryError', `cannot register ${topic}-value: ${String(error)}`, {
          cause: error,
        })
      }
    }
    this.#eventSchemaId = id
    return id
  }

  /**
   * Registers the reading and frame schemas for producers. Two record types share the readings topic, so subjects
   * follow Confluent's TopicRecordNameStrategy: `<topic>-<record full name>`. Decoding needs no subject: the
   * schema id travels in every message.
   */
  async registerReadingSchemas(readingsTopic: string): Promise<{ reading: number; frame: number }> {
    const reading = await this.#registry.register(
      { type: SchemaType.AVRO, schema: readAvroSchema('reading.v1') },
      { subject: `${readingsTopic}-io.mvadstream.v1.Reading` },
    )
    const frame = await this.#registry.register(
      { type: SchemaType.AVRO, schema: readAvroSchema('frame.v1') },
      { subject: `${readingsTopic}-io.mvadstream.v1.Frame` },
    )
    return { reading: reading.id, frame: frame.id }
  }

  async encodeEvent(event: AnomalyEvent): Promise<Buffer> {
    if (this.#eventSchemaId === undefined) throw new ServiceError('Internal', 'event schema not registered')
    const avro = {
      ...event,
      timestamp: Date.parse(event.timestamp),
      shadow: event.shadow ?? false,
      filledVariables: event.filledVariables ?? [],
    }
    return this.#registry.encode(this.#eventSchemaId, avro)
  }

  /** Registers any schema under `subject`; returns its id. */
  async register(schema: { type: SchemaType; schema: string }, subject: string): Promise<number> {
    try {
      return (await this.#registry.register(schema as Parameters<SchemaRegistry['register']>[0], { subject })).id
    } catch (error) {
      throw new ServiceError('SchemaRegistryError', `cannot register ${subject}: ${String(error)}`, { cause: error })
    }
  }

  async encode(schemaId: number, value: unknown): Promise<Buffer> {
    return this.#registry.encode(schemaId, value)
  }

  /** Decodes a wire-format payload into a plain object (Avro longs for timestamps become numbers). */
  async decode(payload: Buffer): Promise<unknown> {
    return this.#registry.decode(payload)
  }

  /** The id events are encoded with, once registered. */
  get eventSchemaId(): number | undefined {
    return this.#eventSchemaId
  }

  /**
   * Whether the registry passed the service's last health check. A 403 while it fails is the service's credentials
   * refused altogether (its read role removed), not one schema's access rule: the records wait instead of being
   * dead-lettered.
   */
  reachable = true
}

/**
 * Decodes a readings-topic payload: registry-encoded (when a registry is configured and the payload carries the
 * wire-format magic byte) or JSON. Synchronous for JSON, the hot path.
 */
export function decodeReadingPayload(payload: Buffer, registry?: RegistryCodec): DecodeResult | Promise<DecodeResult> {
  if (registry !== undefined && isRegistryEncoded(payload)) {
    return registry.decode(payload).then(
      (decoded) => validateReadingObject(decoded, DEFAULT_TIMESTAMP_BOUNDS),
      (error: unknown): DecodeResult => {
        // The registry being down says nothing about the record: fail the batch (retried), do not dead-letter it.
        if (isTransientRegistryError(error) || (statusOf(error) === 403 && !registry.reachable)) {
          throw registryUnavailable(error)
        }
        return { ok: false, reason: 'schema_registry_decode_failed', detail: String(error) }
      },
    )
  }
  if (registry === undefined && isRegistryEncoded(payload)) {
    // JSON never starts with a 0 byte: this is an Avro record a producer sent for a service without a registry.
    return {
      ok: false,
      reason: 'schema_registry_decode_failed',
      detail:
        `Confluent wire format (Avro, schema id ${payload.readUInt32BE(1)}) but this service has no ` +
        'SCHEMA_REGISTRY_URL: set it, or send JSON',
    }
  }
  return decodeJsonReading(payload)
}

/**
 * Whether a registry decode failed for the registry's sake (unreachable, overloaded), not the payload's. The client
 * reports a refused connection as "status 400" with the socket error in the message, so the message is read too.
 */
function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status
  return typeof status === 'number' ? status : undefined
}

export function isTransientRegistryError(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const status = statusOf(error)
  // 401: the service's credentials (rotated, revoked) are refused for everything, which the readiness check sees too:
  // the service's problem, not the record's. A 403 with the registry otherwise healthy is a refusal of one schema
  // (per-subject access rules): retrying would hold the partition for ever while /readyz stays green, so its records
  // are dead-lettered with the reason (decodeReadingPayload holds them while the registry's health check fails).
  if (status !== undefined && (status >= 500 || [401, 408, 429].includes(status))) return true
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE|socket hang up|timeout/i.test(
    error.message,
  )
}

export function registryUnavailable(error: unknown): ServiceError {
  return new ServiceError('SchemaRegistryError', `schema registry unavailable: ${String(error)}`, {
    cause: error,
    retriable: true,
  })
}
