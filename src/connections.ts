/**
 * Client options for Kafka, Redis and the schema registry from the config: TLS, SASL and registry credentials. The
 * service and the CLI make their clients from these, so both reach a secured cluster the same way. The TLS files are
 * read here, once (a rotated certificate takes a restart), and checked the way a TLS connection will use them (a
 * key that does not match its certificate, a wrong passphrase); every problem is reported together (ConfigInvalid,
 * naming its variable), as config problems are.
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createSecureContext, type ConnectionOptions } from 'node:tls'
import type { RedisOptions } from 'ioredis'
import type { KafkaConfig, SASLOptions } from 'kafkajs'
import { configInvalid, type Config, type RegistryAccess } from './config/config.js'

export interface ClientOptions {
  /** To spread into createKafka's argument (with clientId and timeouts). */
  readonly kafka: Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'>
  /** `new Redis(redis.url, { ...redis.options, …own options })`. */
  readonly redis: { readonly url: string; readonly options: Pick<RedisOptions, 'tls'> }
  readonly registry: RegistryAccess | undefined
}

type ReadFile = (path: string) => Buffer

/** What a PEM file must hold; a wrong file (a key given as the CA) is named here rather than in a TLS handshake. */
const PEM_MARKERS = {
  certificate: /-----BEGIN CERTIFICATE-----/,
  'private key': /-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/,
} as const
type PemKind = keyof typeof PEM_MARKERS
const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g

export function clientOptions(config: Config, read: ReadFile = (path) => readFileSync(path)): ClientOptions {
  const problems: string[] = []
  /** A PEM file's content, or undefined after noting why it cannot be used. */
  const pem = (variable: string, path: string | undefined, expected: PemKind): Buffer | undefined => {
    if (path === undefined) return undefined
    let content: Buffer
    try {
      content = read(path)
    } catch (error) {
      problems.push(`${variable}: cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`)
      return undefined
    }
    const text = content.toString('latin1')
    if (!PEM_MARKERS[expected].test(text)) {
      problems.push(`${variable}: ${path} holds no PEM ${expected}`)
      return undefined
    }
    // A CA list is not checked by the TLS context until a handshake: parse each certificate now.
    for (const block of expected === 'certificate' ? (text.match(CERTIFICATE_BLOCK) ?? []) : []) {
      try {
        new X509Certificate(block)
      } catch (error) {
        problems.push(`${variable}: ${path} holds a certificate that cannot be read: ${String(error)}`)
        return undefined
      }
    }
    return content
  }
  /** Loads the material as a TLS connection will (OpenSSL's own checks); notes why it cannot be used. */
  const usable = (options: ConnectionOptions, variables: string): ConnectionOptions | undefined => {
    try {
      createSecureContext(options)
      return options
    } catch (error) {
      problems.push(`${variables}: ${error instanceof Error ? error.message : String(error)}`)
      return undefined
    }
  }

  const { tls, sasl } = config.kafka
  let kafkaTls: ConnectionOptions | undefined
  if (tls !== undefined) {
    const ca = pem('KAFKA_SSL_CA_FILE', tls.caFile, 'certificate')
    const cert = pem('KAFKA_SSL_CERT_FILE', tls.certFile, 'certificate')
    const key = pem('KAFKA_SSL_KEY_FILE', tls.keyFile, 'private key')
    kafkaTls = usable(
      {
        rejectUnauthorized: tls.rejectUnauthorized,
        ...(ca === undefined ? {} : { ca: [ca] }),
        ...(cert === undefined ? {} : { cert }),
        ...(key === undefined ? {} : { key }),
        ...(tls.keyPassword === undefined ? {} : { passphrase: tls.keyPassword }),
      },
      'KAFKA_SSL_CA_FILE / KAFKA_SSL_CERT_FILE / KAFKA_SSL_KEY_FILE / KAFKA_SSL_KEY_PASSWORD',
    )
  }
  const redisCa = pem('REDIS_TLS_CA_FILE', config.redis.tlsCaFile, 'certificate')
  const redisTls = redisCa === undefined ? undefined : usable({ ca: [redisCa] }, 'REDIS_TLS_CA_FILE')
  if (problems.length > 0) throw configInvalid(problems)
  return {
    kafka: {
      brokers: [...config.kafka.brokers],
      ...(kafkaTls === undefined ? {} : { ssl: kafkaTls }),
      ...(sasl === undefined ? {} : { sasl: saslOptions(sasl) }),
    },
    // Without a CA file a rediss:// URL still means TLS: ioredis turns it on from the scheme.
    redis: { url: config.redis.url, options: redisTls === undefined ? {} : { tls: redisTls } },
    registry: config.schemaRegistry,
  }
}

function saslOptions(sasl: NonNullable<Config['kafka']['sasl']>): SASLOptions {
  const { username, password } = sasl
  // One branch per mechanism: kafkajs types each as its own member of a union, which a variable mechanism fits none of.
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password }
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password }
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password }
  }
}

/** The `Authorization` header value for registry requests made outside its client (the health check). */
export function registryAuthorization(registry: RegistryAccess): string | undefined {
  if (registry.auth === undefined) return undefined
  return `Basic ${Buffer.from(`${registry.auth.username}:${registry.auth.password}`).toString('base64')}`
}

/** Said at start-up: settings that work but send secrets where they can be read, or let clients read them. */
export function insecureSettings(config: Config): string[] {
  const warnings: string[] = []
  if (config.kafka.tls?.rejectUnauthorized === false) {
    warnings.push('KAFKA_SSL_REJECT_UNAUTHORIZED=false: any broker certificate is accepted (for testing only)')
  }
  if (config.kafka.sasl?.mechanism === 'plain' && config.kafka.tls === undefined) {
    warnings.push(
      'KAFKA_SASL_MECHANISM=plain without TLS: the password crosses the network in clear (set KAFKA_SSL=true)',
    )
  }
  if (config.schemaRegistry?.auth !== undefined && config.schemaRegistry.url.startsWith('http://')) {
    warnings.push('SCHEMA_REGISTRY_USERNAME/PASSWORD over http://: the credentials cross the network in clear')
  }
  if (config.control.enabled && config.control.fileRoots.length === 0) {
    warnings.push(
      'MVAD_CONTROL_FILE_ROOTS is not set: a control command may name any file this service can read, and a ' +
        "job's error quotes the first line it found there; set it to the folders of your training data",
    )
  }
  return warnings
}
