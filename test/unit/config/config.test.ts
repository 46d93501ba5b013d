import { describe, expect, it } from 'vitest'
import { CONFIG_VARIABLES, loadConfig, unknownSettings } from '../../../src/config/config.js'
import { ServiceError } from '../../../src/errors.js'

describe('loadConfig', () => {
  it('fills every default from an empty environment', () => {
    const config = loadConfig({})
    expect(config.http).toEqual({ host: '0.0.0.0', port: 8080, trustProxy: false })
    expect(config.kafka.brokers).toEqual(['127.0.0.1:19092'])
    expect(config.kafka.topics.readings).toBe('mvad.readings')
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:16379', keyPrefix: 'mvad' })
    expect(config.schemaRegistryUrl).toBeUndefined()
    expect(config.shutdownGraceMs).toBe(30_000)
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
    expect(config.schemaRegistryUrl).toBe('http://registry:8081/apis/ccompat/v7')
    expect(config.logLevel).toBe('debug')
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
  })

  it('names MVAD_* variables it does not read, with the setting they were probably meant to be', () => {
    expect(
      unknownSettings({
        MVAD_TOPIC_READING: 'x', // a letter short
        MVAD_HTTP_PORT: '1',
        MVAD_KAFKA_PORT: '29092', // infra.sh's, not the service's
        MVAD_SOMETHING_ELSE: '1',
        MVAD_HTP_PORT: '8081', // a misspelt port setting is still reported
        KAFKA_BROKERZ: 'x', // not ours to judge
        MVAD_STREAM_SERVICE_HOST: '10.0.0.1', // Kubernetes service links of a Service named mvad-stream
        MVAD_STREAM_SERVICE_PORT_HTTP: '8080',
        MVAD_STREAM_PORT: 'tcp://10.0.0.1:8080',
        MVAD_STREAM_PORT_8080_TCP_ADDR: '10.0.0.1',
      }),
    ).toEqual([
      { name: 'MVAD_HTP_PORT', closest: 'MVAD_HTTP_PORT' },
      { name: 'MVAD_SOMETHING_ELSE' },
      { name: 'MVAD_TOPIC_READING', closest: 'MVAD_TOPIC_READINGS' },
    ])
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

  it('lists the variables it reads', () => {
    expect(CONFIG_VARIABLES).toContain('KAFKA_BROKERS')
    expect(CONFIG_VARIABLES).toContain('REDIS_URL')
  })
})
