/**
 * Schema-registry adapter (Confluent wire format through @kafkajs/confluent-schema-registry; works with Apicurio's
 * ccompat API). Registers the v1 Avro schemas under `<topic>-value` subjects and encodes/decodes with them.
 */
import { readFileSync } from 'node:fs'
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry'
import { ServiceError } from '../errors.js'
import type { AnomalyEvent } from './anomaly-event.js'

const SCHEMA_DIR = new URL('../../../schemas/avro/', import.meta.url)

export function readAvroSchema(name: 'reading.v1' | 'frame.v1' | 'anomaly-event.v1'): string {
  // Compiled code lives in dist/src/stream; sources in src/stream: try both layouts.
  for (const base of [SCHEMA_DIR, new URL('../../schemas/avro/', import.meta.url)]) {
    try {
      return readFileSync(new URL(`${name}.avsc`, base), 'utf8')
    } catch {
      // next layout
    }
  }
  throw new ServiceError('Internal', `schema ${name}.avsc not found next to the code`)
}

export class RegistryCodec {
  readonly #registry: SchemaRegistry
  #eventSchemaId: number | undefined

  constructor(url: string) {
    this.#registry = new SchemaRegistry({ host: url })
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
    const avro = { ...event, timestamp: Date.parse(event.timestamp), shadow: event.shadow ?? false }
    delete (avro as { variableStates?: unknown }).variableStates
    return this.#registry.encode(this.#eventSchemaId, avro)
  }

  async encode(schemaId: number, value: unknown): Promise<Buffer> {
    return this.#registry.encode(schemaId, value)
  }

  /** Decodes a wire-format payload into a plain object (Avro longs for timestamps become numbers). */
  async decode(payload: Buffer): Promise<unknown> {
    return this.#registry.decode(payload)
  }

  get eventSchemaId(): number | undefined {
    return this.#eventSchemaId
  }
}
