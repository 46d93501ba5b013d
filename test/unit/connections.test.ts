import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/config.js'
import { clientOptions, registryAuthorization } from '../../src/connections.js'
import { ServiceError } from '../../src/errors.js'

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n'
const files: Record<string, string> = { '/ca.pem': CERT, '/client.pem': CERT, '/client.key': KEY, '/notes.txt': 'hi' }
const read = (path: string): Buffer => {
  const content = files[path]
  if (content === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`)
  return Buffer.from(content)
}

describe('clientOptions', () => {
  it('gives plaintext options when nothing is secured', () => {
    const options = clientOptions(loadConfig({ KAFKA_BROKERS: 'k:9092' }), read)
    expect(options.kafka).toEqual({ brokers: ['k:9092'] })
    expect(options.redis).toEqual({ url: 'redis://127.0.0.1:16379', tls: undefined })
    expect(options.registry).toBeUndefined()
  })

  it('reads the PEM files once into TLS options and maps SASL for kafkajs', () => {
    const options = clientOptions(
      loadConfig({
        KAFKA_SSL_CA_FILE: '/ca.pem',
        KAFKA_SSL_CERT_FILE: '/client.pem',
        KAFKA_SSL_KEY_FILE: '/client.key',
        KAFKA_SSL_REJECT_UNAUTHORIZED: 'false',
        KAFKA_SASL_MECHANISM: 'PLAIN',
        KAFKA_SASL_USERNAME: '$ConnectionString',
        KAFKA_SASL_PASSWORD: 'Endpoint=sb://x/;SharedAccessKey=abc',
        REDIS_URL: 'rediss://cache:6380',
        REDIS_TLS_CA_FILE: '/ca.pem',
      }),
      read,
    )
    expect(options.kafka.ssl).toEqual({
      rejectUnauthorized: false,
      ca: [Buffer.from(CERT)],
      cert: Buffer.from(CERT),
      key: Buffer.from(KEY),
    })
    expect(options.kafka.sasl).toEqual({
      mechanism: 'plain',
      username: '$ConnectionString',
      password: 'Endpoint=sb://x/;SharedAccessKey=abc',
    })
    expect(options.redis).toEqual({ url: 'rediss://cache:6380', tls: { ca: [Buffer.from(CERT)] } })
  })

  it('reports every unusable file at once, naming its variable', () => {
    let caught: unknown
    try {
      clientOptions(
        loadConfig({
          KAFKA_SSL_CA_FILE: '/missing.pem',
          KAFKA_SSL_CERT_FILE: '/notes.txt',
          KAFKA_SSL_KEY_FILE: '/ca.pem',
          REDIS_URL: 'rediss://cache:6380',
          REDIS_TLS_CA_FILE: '/client.key',
        }),
        read,
      )
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ServiceError)
    const error = caught as ServiceError
    expect(error.code).toBe('ConfigInvalid')
    expect(error.message).toContain('Invalid configuration (4)')
    expect(error.message).toContain(
      "KAFKA_SSL_CA_FILE: cannot read /missing.pem: ENOENT: no such file or directory, open '/missing.pem'",
    )
    expect(error.message).toContain('KAFKA_SSL_CERT_FILE: /notes.txt holds no PEM certificate')
    expect(error.message).toContain('KAFKA_SSL_KEY_FILE: /ca.pem holds no PEM private key')
    expect(error.message).toContain('REDIS_TLS_CA_FILE: /client.key holds no PEM certificate')
  })

  it('makes the Basic authorization of registry credentials', () => {
    const options = clientOptions(
      loadConfig({
        SCHEMA_REGISTRY_URL: 'https://registry',
        SCHEMA_REGISTRY_USERNAME: 'key',
        SCHEMA_REGISTRY_PASSWORD: 'secret',
      }),
      read,
    )
    expect(options.registry).toEqual({ url: 'https://registry', auth: { username: 'key', password: 'secret' } })
    // base64("key:secret")
    expect(registryAuthorization(options.registry ?? { url: '', auth: undefined })).toBe('Basic a2V5OnNlY3JldA==')
    expect(registryAuthorization({ url: 'http://r', auth: undefined })).toBeUndefined()
  })
})
