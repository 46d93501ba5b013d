import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CONFIG_VARIABLES, loadConfig } from '../../../src/config/config.js'
import { ServiceError } from '../../../src/errors.js'

describe('loadConfig', () => {
  it('fills every default from an empty environment', () => {
    const config = loadConfig({})
    expect(config.http).toEqual({ host: '0.0.0.0', port: 8080, trustProxy: false })
    expect(config.kafka.brokers).toEqual(['127.0.0.1:19092'])
    expect(config.kafka.topics.readings).toBe('mvad.readings')
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:16379', keyPrefix: 'mvad', tlsCaFile: undefined })
    expect(config.schemaRegistry).toBeUndefined()
    expect(config.kafka.tls).toBeUndefined()
    expect(config.kafka.sasl).toBeUndefined()
    expect(config.shutdownGraceMs).toBe(30_000)
    expect(config.stream.newTopics).toEqual({ numPartitions: 6, replicationFactor: undefined })
    expect(loadConfig({ MVAD_TOPIC_REPLICATION_FACTOR: '3' }).stream.newTopics.replicationFactor).toBe(3)
    expect(config.stream.readingsStart).toBe('earliest')
    expect(loadConfig({ MVAD_READINGS_START: 'latest' }).stream.readingsStart).toBe('latest')
    expect(() => loadConfig({ MVAD_READINGS_START: 'newest' })).toThrow('MVAD_READINGS_START:')
  })

  it("takes the consumer groups' session and heartbeat, the heartbeat at most a third of the session", () => {
    expect(loadConfig({}).kafka.groupTimeouts).toEqual({ sessionTimeout: 30_000, heartbeatInterval: 3_000 })
    expect(
      loadConfig({ KAFKA_SESSION_TIMEOUT_MS: '45000', KAFKA_HEARTBEAT_INTERVAL_MS: '15000' }).kafka.groupTimeouts,
    ).toEqual({ sessionTimeout: 45_000, heartbeatInterval: 15_000 })
    expect(() => loadConfig({ KAFKA_SESSION_TIMEOUT_MS: '9000', KAFKA_HEARTBEAT_INTERVAL_MS: '3001' })).toThrow(
      'KAFKA_HEARTBEAT_INTERVAL_MS: must be at most a third of KAFKA_SESSION_TIMEOUT_MS (9000 ms)',
    )
    // Against the default session, and reported with the other problems.
    expect(() => loadConfig({ KAFKA_HEARTBEAT_INTERVAL_MS: '20000', MVAD_HTTP_PORT: 'x' })).toThrow(
      /Invalid configuration \(2\)[^]*MVAD_HTTP_PORT[^]*\(30000 ms\)/,
    )
    // Under the broker's default group.min.session.timeout.ms it would refuse the member.
    expect(() => loadConfig({ KAFKA_SESSION_TIMEOUT_MS: '5000' })).toThrow('KAFKA_SESSION_TIMEOUT_MS:')
  })

  it('parses values, splitting broker lists and converting numbers', () => {
    const config = loadConfig({
      KAFKA_BROKERS: 'a:9092, b:9093',
      MVAD_HTTP_PORT: '9999',
      MVAD_SHUTDOWN_GRACE_MS: '1500',
      SCHEMA_REGISTRY_URL: 'http://registry:8081/apis/ccompat/v7',
      MVAD_LOG_LEVEL: 'debug',
    })
    expect(config.kafka.brokers).toEqual(['a:9092', 'b:9093'])
    expect(config.http.port).toBe(9999)
    expect(config.shutdownGraceMs).toBe(1500)
    expect(config.schemaRegistry).toEqual({ url: 'http://registry:8081/apis/ccompat/v7', auth: undefined })
    expect(config.logLevel).toBe('debug')
  })

  it("takes the REST model cache's budget in bytes, 0 for none, and refuses anything else", () => {
    expect(loadConfig({}).rest.modelCacheBytes).toBe(64 * 1024 * 1024)
    expect(loadConfig({ MVAD_REST_MODEL_CACHE_BYTES: '0' }).rest.modelCacheBytes).toBe(0)
    for (const bad of ['-1', '1.5', '64MiB']) {
      expect(() => loadConfig({ MVAD_REST_MODEL_CACHE_BYTES: bad })).toThrow(
        new RegExp(`MVAD_REST_MODEL_CACHE_BYTES: .*\\(got "${bad}"\\)`),
      )
    }
  })

  it('treats empty strings as unset', () => {
    expect(loadConfig({ MVAD_HTTP_PORT: '', SCHEMA_REGISTRY_URL: '' }).http.port).toBe(8080)
  })

  it('reports every problem at once, each with its variable name', () => {
    let caught: unknown
    try {
      loadConfig({
        MVAD_HTTP_PORT: 'eighty',
        KAFKA_BROKERS: 'nohost',
        REDIS_URL: 'http://x',
        MVAD_LOG_LEVEL: 'loud',
        MVAD_TOPIC_EVENTS: 'bad topic!',
      })
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ServiceError)
    const error = caught as ServiceError
    expect(error.code).toBe('ConfigInvalid')
    expect(error.retriable).toBe(false)
    for (const name of ['MVAD_HTTP_PORT', 'KAFKA_BROKERS', 'REDIS_URL', 'MVAD_LOG_LEVEL', 'MVAD_TOPIC_EVENTS']) {
      expect(error.message).toContain(name)
    }
    expect(error.message).toContain('Invalid configuration (5)')
    expect(error.message).toContain('MVAD_HTTP_PORT: Invalid input: expected number, received NaN (got "eighty")')
    expect(error.message).toContain('MVAD_LOG_LEVEL:')
    expect(error.message).toContain('(got "loud")')
    // Keys and URLs (a password may be in one) are not repeated.
    expect(error.message).not.toContain('http://x')
    expect(() => loadConfig({ MVAD_API_KEY: 'short-secret' })).toThrow(/MVAD_API_KEY: use at least 16 characters\n?$/)
    expect(() => loadConfig({ MVAD_API_KEY: 'change-me-to-a-long-random-key' })).toThrow(
      'MVAD_API_KEY: is the example placeholder',
    )
  })

  it('returns a deeply frozen object', () => {
    const config = loadConfig({})
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.kafka.topics)).toBe(true)
    expect(Object.isFrozen(config.kafka.brokers)).toBe(true)
  })

  it('does not read process.env', () => {
    const before = process.env.MVAD_HTTP_PORT
    process.env.MVAD_HTTP_PORT = '1234'
    try {
      expect(loadConfig({}).http.port).toBe(8080)
    } finally {
      if (before === undefined) delete process.env.MVAD_HTTP_PORT
      else process.env.MVAD_HTTP_PORT = before
    }
  })

  it('lists the variables it reads, each documented in a row of docs/config.md', () => {
    expect(CONFIG_VARIABLES).toContain('KAFKA_BROKERS')
    expect(CONFIG_VARIABLES).toContain('REDIS_URL')
    const rows = readFileSync(new URL('../../../docs/config.md', import.meta.url), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .map((line) => line.split(' | ')[0] ?? '')
    expect(CONFIG_VARIABLES.filter((name) => !rows.some((first) => first.includes(`\`${name}\``)))).toEqual([])
  })

  describe('secured connections', () => {
    const problemsOf = (env: Record<string, string>): string => {
      try {
        loadConfig(env)
      } catch (error) {
        return (error as ServiceError).message
      }
      return ''
    }

    it('takes TLS and SASL for Kafka, a CA for rediss://, and registry credentials', () => {
      const config = loadConfig({
        KAFKA_SSL_CA_FILE: '/etc/kafka/ca.pem',
        KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        KAFKA_SASL_USERNAME: 'svc',
        KAFKA_SASL_PASSWORD: 'p w',
        REDIS_URL: 'rediss://cache:6380',
        REDIS_TLS_CA_FILE: '/etc/redis/ca.pem',
        SCHEMA_REGISTRY_URL: 'https://registry',
        SCHEMA_REGISTRY_USERNAME: 'key',
        SCHEMA_REGISTRY_PASSWORD: 'secret',
      })
      // A CA file alone turns TLS on; Kafka's upper-case mechanism names are taken.
      expect(config.kafka.tls).toEqual({
        caFile: '/etc/kafka/ca.pem',
        certFile: undefined,
        keyFile: undefined,
        keyPassword: undefined,
        rejectUnauthorized: true,
      })
      expect(config.kafka.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'svc', password: 'p w' })
      expect(config.redis.tlsCaFile).toBe('/etc/redis/ca.pem')
      expect(config.schemaRegistry).toEqual({ url: 'https://registry', auth: { username: 'key', password: 'secret' } })
      expect(loadConfig({ KAFKA_SSL: 'true' }).kafka.tls).toEqual({
        caFile: undefined,
        certFile: undefined,
        keyFile: undefined,
        keyPassword: undefined,
        rejectUnauthorized: true,
      })
    })

    it('reports settings that only work together, with the other problems, and never shows a password', () => {
      const message = problemsOf({
        MVAD_HTTP_PORT: 'x',
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_PASSWORD: 'hunter2-secret',
        KAFKA_SSL: 'false',
        KAFKA_SSL_CA_FILE: '/ca.pem',
        KAFKA_SSL_CERT_FILE: '/client.pem',
        REDIS_TLS_CA_FILE: '/ca.pem',
        SCHEMA_REGISTRY_USERNAME: 'key',
      })
      expect(message).toContain('Invalid configuration (8)')
      expect(message).toContain('MVAD_HTTP_PORT:')
      expect(message).toContain('KAFKA_SASL_MECHANISM: needs KAFKA_SASL_USERNAME')
      expect(message).toContain('KAFKA_SSL_CA_FILE: is set while KAFKA_SSL is false')
      expect(message).toContain('KAFKA_SSL_CERT_FILE: a client certificate needs its key in KAFKA_SSL_KEY_FILE')
      expect(message).toContain('REDIS_TLS_CA_FILE: is used only with a rediss:// REDIS_URL')
      expect(message).toContain('SCHEMA_REGISTRY_USERNAME: needs SCHEMA_REGISTRY_PASSWORD')
      expect(message).toContain('SCHEMA_REGISTRY_USERNAME: is used only with SCHEMA_REGISTRY_URL')
      expect(message).not.toContain('hunter2')
      const more = problemsOf({
        SCHEMA_REGISTRY_URL: 'https://key:secret-in-url@registry',
        KAFKA_SSL_REJECT_UNAUTHORIZED: 'false',
        KAFKA_SSL_KEY_PASSWORD: 'pw',
      })
      expect(more).toContain('SCHEMA_REGISTRY_URL: holds credentials; give them in SCHEMA_REGISTRY_USERNAME')
      expect(more).toContain('KAFKA_SSL_REJECT_UNAUTHORIZED: is used only with TLS')
      expect(more).toContain('KAFKA_SSL_KEY_PASSWORD: is the passphrase of KAFKA_SSL_KEY_FILE, which is not set')
      expect(more).not.toContain('secret-in-url')
      expect(problemsOf({ KAFKA_SASL_USERNAME: 'svc' })).toContain(
        'KAFKA_SASL_USERNAME: is used only with KAFKA_SASL_MECHANISM',
      )
      expect(
        problemsOf({ KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'a', KAFKA_SASL_PASSWORD: 'b' }),
      ).toMatch(/KAFKA_SASL_MECHANISM: .*plain.*scram-sha-256.*scram-sha-512/)
    })
  })
})
