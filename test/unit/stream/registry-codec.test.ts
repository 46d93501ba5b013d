import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { ServiceError } from '../../../src/errors.js'
import { RegistryCodec, decodeReadingPayload, isTransientRegistryError } from '../../../src/stream/registry-codec.js'

/** A registry client error as @kafkajs/confluent-schema-registry reports it (ResponseError with a status). */
function responseError(status: number, message: string): Error {
  return Object.assign(new Error(`Confluent_Schema_Registry - Error, status ${status}: ${message}`), { status })
}

describe('registry decoding failures', () => {
  it('tells an unavailable registry from a payload it cannot decode', () => {
    // The client reports a refused connection as status 400, with the socket error in the message.
    expect(isTransientRegistryError(responseError(400, 'connect ECONNREFUSED 127.0.0.1:18081'))).toBe(true)
    expect(isTransientRegistryError(responseError(503, 'Service Unavailable'))).toBe(true)
    expect(isTransientRegistryError(responseError(429, 'Too Many Requests'))).toBe(true)
    expect(isTransientRegistryError(new Error('request timeout after 3000 ms'))).toBe(true)
    // Refused credentials (rotated, revoked) are the service's to mend: the records wait.
    expect(isTransientRegistryError(responseError(401, 'Unauthorized'))).toBe(true)
    // One schema refused to these credentials: dead-lettered with the reason, not held for ever.
    expect(isTransientRegistryError(responseError(403, 'Forbidden'))).toBe(false)
    expect(isTransientRegistryError(responseError(404, 'Schema 99 not found'))).toBe(false)
    expect(isTransientRegistryError(new Error('truncated buffer'))).toBe(false) // avro: a bad payload
    expect(isTransientRegistryError('ECONNREFUSED')).toBe(false)
  })

  it('fails the batch (a retriable error) instead of dead-lettering a reading when the registry is down', async () => {
    const registry = new RegistryCodec({ url: 'http://127.0.0.1:1', auth: undefined }) // nothing listens there
    const wire = Buffer.from([0, 0, 0, 0, 7, 2, 4, 6]) // magic byte 0, schema id 7
    const outcome = decodeReadingPayload(wire, registry)
    await expect(outcome).rejects.toBeInstanceOf(ServiceError)
    await expect(outcome).rejects.toMatchObject({ code: 'SchemaRegistryError', retriable: true })
  }, 30_000)

  it('dead-letters an Avro record sent to a service without a registry with a message saying so', () => {
    const wire = Buffer.from([0, 0, 0, 0, 7, 2, 4, 6]) // magic byte 0, schema id 7
    const outcome = decodeReadingPayload(wire)
    expect(outcome).toMatchObject({ ok: false, reason: 'schema_registry_decode_failed' })
    expect(outcome instanceof Promise || outcome.ok ? '' : outcome.detail).toContain(
      'Confluent wire format (Avro, schema id 7) but this service has no SCHEMA_REGISTRY_URL',
    )
  })

  it('dead-letters a record whose schema the registry refuses (403), but holds it while the registry is unhealthy', async () => {
    // A registry that refuses every schema lookup with 403, as per-subject access rules or a removed role do.
    const server = createServer((_request, response) => {
      response.writeHead(403, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ error_code: 40301, message: 'forbidden' }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as AddressInfo
      const registry = new RegistryCodec({ url: `http://127.0.0.1:${port}`, auth: undefined })
      const wire = Buffer.from([0, 0, 0, 0, 7, 2, 4, 6])
      // The health check passes: one schema refused, the record is dead-lettered with the reason.
      await expect(decodeReadingPayload(wire, registry)).resolves.toMatchObject({
        ok: false,
        reason: 'schema_registry_decode_failed',
      })
      // The health check fails too: the service's access is refused altogether, the batch waits.
      registry.reachable = false
      await expect(decodeReadingPayload(wire, registry)).rejects.toMatchObject({
        code: 'SchemaRegistryError',
        retriable: true,
      })
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
