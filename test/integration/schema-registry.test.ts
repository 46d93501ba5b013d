import { describe, expect, inject, it } from 'vitest'
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry'
import { uniquePrefix } from '../support/names.js'

describe('Schema registry (real server, Confluent-compatible API)', () => {
  const registry = new SchemaRegistry({ host: inject('schemaRegistryUrl') })

  it('registers an Avro schema and round-trips a message in the Confluent wire format', async () => {
    const subject = `${uniquePrefix('sr')}-value`
    const schema = {
      type: 'record',
      name: 'Reading',
      namespace: 'io.mvadstream.test',
      fields: [
        { name: 'variable', type: 'string' },
        { name: 'timestamp', type: 'long' },
        { name: 'value', type: 'double' },
      ],
    }
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject })
    expect(id).toBeGreaterThan(0)
    expect(await registry.getLatestSchemaId(subject)).toBe(id)

    const reading = { variable: 'cpu', timestamp: 1_700_000_000_000, value: 0.25 }
    const encoded = await registry.encode(id, reading)
    // Confluent wire format: magic byte 0, then the schema id as a 4-byte big-endian integer.
    expect(encoded[0]).toBe(0)
    expect(encoded.readInt32BE(1)).toBe(id)
    expect(await registry.decode(encoded)).toEqual(reading)
  })

  it('refuses to encode a message that does not fit the schema', async () => {
    const subject = `${uniquePrefix('sr')}-value`
    const schema = { type: 'record', name: 'Strict', fields: [{ name: 'value', type: 'double' }] }
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject })
    await expect(registry.encode(id, { value: 'not a number' })).rejects.toThrow()
  })
})
