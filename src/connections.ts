/**
 * Client options for Kafka, Redis and the schema registry from the config: TLS, SASL and registry credentials. The
 * service and the CLI make their clients from these, so both reach a secured cluster the same way. The TLS files are
 * read here, once, and every unreadable one is reported together (ConfigInvalid, naming its variable), as config
 * problems are.
 */
import { readFileSync } from 'node:fs'
import type { ConnectionOptions } from 'node:tls'
import type { KafkaConfig, SASLOptions } from 'kafkajs'
import type { Config } from './config/config.js'
import { ServiceError } from './errors.js'

export interface RegistryAccess {
  readonly url: string
  readonly auth: { readonly username: string; readonly password: string } | undefined
}

export interface ClientOptions {
  /** To spread into createKafka's argument (with clientId and timeouts). */
  readonly kafka: Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'>
  readonly redis: { readonly url: string; readonly tls: ConnectionOptions | undefined }
  readonly registry: RegistryAccess | undefined
}

type ReadFile = (path: string) => Buffer

/** What a PEM file must hold; a wrong file (a key given as the CA) fails here rather than in a TLS handshake. */
const PEM_MARKERS = {
  certificate: /-----BEGIN CERTIFICATE-----/,
  'private key': /-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/,
} as const
type PemKind = keyof typeof PEM_MARKERS

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
    if (!PEM_MARKERS[expected].test(content.toString('latin1'))) {
      problems.push(`${variable}: ${path} holds no PEM ${expected}`)
      return undefined
    }
    return content
  }
  const { tls, sasl } = config.kafka
  let kafkaTls: ConnectionOptions | undefined
  if (tls !== undefined) {
    const ca = pem('KAFKA_SSL_CA_FILE', tls.caFile, 'certificate')
    const cert = pem('KAFKA_SSL_CERT_FILE', tls.certFile, 'certificate')
    const key = pem('KAFKA_SSL_KEY_FILE', tls.keyFile, 'private key')
    kafkaTls = {
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(ca === undefined ? {} : { ca: [ca] }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
    }
  }
  const redisCa = pem('REDIS_TLS_CA_FILE', config.redis.tlsCaFile, 'certificate')
  if (problems.length > 0) {
    throw new ServiceError('ConfigInvalid', `Invalid configuration (${problems.length}):\n  ${problems.join('\n  ')}`)
  }
  return {
    kafka: {
      brokers: [...config.kafka.brokers],
      ...(kafkaTls === undefined ? {} : { ssl: kafkaTls }),
      ...(sasl === undefined ? {} : { sasl: saslOptions(sasl) }),
    },
    redis: { url: config.redis.url, tls: redisCa === undefined ? undefined : { ca: [redisCa] } },
    registry: config.schemaRegistry,
  }
}

function saslOptions(sasl: NonNullable<Config['kafka']['sasl']>): SASLOptions {
  const { username, password } = sasl
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
