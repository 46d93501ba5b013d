import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/config.js'
import { clientOptions, insecureSettings, registryAuthorization } from '../../src/connections.js'
import { ServiceError } from '../../src/errors.js'

const TLS = new URL('../fixtures/tls/', import.meta.url).pathname
const file = (name: string): Buffer => readFileSync(`${TLS}${name}`)

function problemsOf(env: Record<string, string>): string {
  try {
    clientOptions(loadConfig(env))
  } catch (error) {
    expect(error).toBeInstanceOf(ServiceError)
    expect((error as ServiceError).code).toBe('ConfigInvalid')
    return (error as ServiceError).message
  }
  return ''
}

describe('clientOptions', () => {
  it('gives plaintext options when nothing is secured', () => {
    const options = clientOptions(loadConfig({ KAFKA_BROKERS: 'k:9092' }))
    expect(options.kafka).toEqual({ brokers: ['k:9092'] })
    expect(options.redis).toEqual({ url: 'redis://127.0.0.1:16379', options: {} })
    expect(options.registry).toBeUndefined()
  })

  it('reads the PEM files once into TLS options and maps SASL for kafkajs', () => {
    const options = clientOptions(
      loadConfig({
        KAFKA_SSL_CA_FILE: `${TLS}ca.crt`,
        KAFKA_SSL_CERT_FILE: `${TLS}client.crt`,
        KAFKA_SSL_KEY_FILE: `${TLS}client-encrypted.key`,
        KAFKA_SSL_KEY_PASSWORD: 'fixture-passphrase',
        KAFKA_SSL_REJECT_UNAUTHORIZED: 'false',
        KAFKA_SASL_MECHANISM: 'PLAIN',
        KAFKA_SASL_USERNAME: '$ConnectionString',
        KAFKA_SASL_PASSWORD: 'Endpoint=sb://x/;SharedAccessKey=abc',
        REDIS_URL: 'rediss://cache:6380',
        REDIS_TLS_CA_FILE: `${TLS}ca.crt`,
      }),
    )
    expect(options.kafka.ssl).toEqual({
      rejectUnauthorized: false,
      ca: [file('ca.crt')],
      cert: file('client.crt'),
      key: file('client-encrypted.key'),
      passphrase: 'fixture-passphrase',
    })
    expect(options.kafka.sasl).toEqual({
      mechanism: 'plain',
      username: '$ConnectionString',
      password: 'Endpoint=sb://x/;SharedAccessKey=abc',
    })
    expect(options.redis).toEqual({ url: 'rediss://cache:6380', options: { tls: { ca: [file('ca.crt')] } } })
  })

  it('reports every unusable file at once, naming its variable', () => {
    const message = problemsOf({
      KAFKA_SSL_CA_FILE: `${TLS}missing.pem`,
      KAFKA_SSL_CERT_FILE: `${TLS}README.md`,
      KAFKA_SSL_KEY_FILE: `${TLS}ca.crt`,
      REDIS_URL: 'rediss://cache:6380',
      REDIS_TLS_CA_FILE: `${TLS}client.key`,
    })
    expect(message).toContain('Invalid configuration (4)')
    expect(message).toContain(`KAFKA_SSL_CA_FILE: cannot read ${TLS}missing.pem: ENOENT`)
    expect(message).toContain(`KAFKA_SSL_CERT_FILE: ${TLS}README.md holds no PEM certificate`)
    expect(message).toContain(`KAFKA_SSL_KEY_FILE: ${TLS}ca.crt holds no PEM private key`)
    expect(message).toContain(`REDIS_TLS_CA_FILE: ${TLS}client.key holds no PEM certificate`)
  })

  it('checks the material as a TLS connection will: a key of another certificate, a wrong or missing passphrase', () => {
    const client = { KAFKA_SSL_CA_FILE: `${TLS}ca.crt`, KAFKA_SSL_CERT_FILE: `${TLS}client.crt` }
    expect(problemsOf({ ...client, KAFKA_SSL_KEY_FILE: `${TLS}other.key` })).toMatch(
      /KAFKA_SSL_CA_FILE \/ KAFKA_SSL_CERT_FILE \/ KAFKA_SSL_KEY_FILE \/ KAFKA_SSL_KEY_PASSWORD: .*key values mismatch/,
    )
    expect(
      problemsOf({ ...client, KAFKA_SSL_KEY_FILE: `${TLS}client-encrypted.key`, KAFKA_SSL_KEY_PASSWORD: 'wrong' }),
    ).toMatch(/KAFKA_SSL_KEY_PASSWORD: .*(bad decrypt|decrypt)/i)
    expect(problemsOf({ ...client, KAFKA_SSL_KEY_FILE: `${TLS}client-encrypted.key` })).toContain(
      'KAFKA_SSL_KEY_PASSWORD:',
    )
    expect(problemsOf({ ...client, KAFKA_SSL_KEY_FILE: `${TLS}client.key` })).toBe('')
    // A certificate whose base64 is damaged: OpenSSL would only say so in a handshake.
    const damaged = file('ca.crt')
      .toString()
      .replace(/^(MII.{10})..../m, '$1!!!!')
    expect(() => clientOptions(loadConfig({ KAFKA_SSL_CA_FILE: '/ca.pem' }), () => Buffer.from(damaged))).toThrow(
      /KAFKA_SSL_CA_FILE: \/ca\.pem holds a certificate that cannot be read/,
    )
    // A file that cannot be read is named as such (the reader is injectable for what the disk cannot show).
    expect(() =>
      clientOptions(loadConfig({ KAFKA_SSL_CA_FILE: '/ca.pem' }), () => {
        throw new Error('EACCES: permission denied')
      }),
    ).toThrow('KAFKA_SSL_CA_FILE: cannot read /ca.pem: EACCES: permission denied')
  })

  it('makes the Basic authorization of registry credentials', () => {
    const options = clientOptions(
      loadConfig({
        SCHEMA_REGISTRY_URL: 'https://registry',
        SCHEMA_REGISTRY_USERNAME: 'key',
        SCHEMA_REGISTRY_PASSWORD: 'secret',
      }),
    )
    expect(options.registry).toEqual({ url: 'https://registry', auth: { username: 'key', password: 'secret' } })
    // base64("key:secret")
    expect(registryAuthorization(options.registry ?? { url: '', auth: undefined })).toBe('Basic a2V5OnNlY3JldA==')
    expect(registryAuthorization({ url: 'http://r', auth: undefined })).toBeUndefined()
  })
})

describe('insecureSettings', () => {
  // Control commands restricted to a folder: the file warning below is checked on its own.
  const roots = { MVAD_CONTROL_FILE_ROOTS: '/data' }

  it('names settings that send secrets in clear or accept any certificate', () => {
    expect(insecureSettings(loadConfig(roots))).toEqual([])
    const warnings = insecureSettings(
      loadConfig({
        ...roots,
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'p',
        SCHEMA_REGISTRY_URL: 'http://registry',
        SCHEMA_REGISTRY_USERNAME: 'key',
        SCHEMA_REGISTRY_PASSWORD: 'secret',
      }),
    )
    expect(warnings).toEqual([
      expect.stringMatching(/^KAFKA_SASL_MECHANISM=plain without TLS/),
      expect.stringMatching(/^SCHEMA_REGISTRY_USERNAME\/PASSWORD over http:\/\//),
    ])
    expect(insecureSettings(loadConfig({ ...roots, KAFKA_SSL: 'true', KAFKA_SSL_REJECT_UNAUTHORIZED: '0' }))).toEqual([
      expect.stringMatching(/^KAFKA_SSL_REJECT_UNAUTHORIZED=false/),
    ])
    // SCRAM does not send the password itself.
    const scram = { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }
    expect(insecureSettings(loadConfig({ ...roots, ...scram }))).toEqual([])
  })

  it('says when control commands may name any file (no MVAD_CONTROL_FILE_ROOTS), unless the control plane is off', () => {
    expect(insecureSettings(loadConfig({}))).toEqual([expect.stringMatching(/^MVAD_CONTROL_FILE_ROOTS is not set: /)])
    expect(insecureSettings(loadConfig({ MVAD_CONTROL_ENABLED: 'false' }))).toEqual([])
    expect(loadConfig({ MVAD_CONTROL_FILE_ROOTS: ' /data , ,/srv/train ' }).control.fileRoots).toEqual([
      '/data',
      '/srv/train',
    ])
  })
})
