import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import { logLevel } from 'kafkajs'
import { describe, expect, inject, it } from 'vitest'
import { createApp } from '../../src/app.js'
import { createKafka } from '../../src/kafka/client.js'
import { loadConfig } from '../../src/config/config.js'
import { createLogger } from '../../src/observability/logger.js'
import { createMetrics } from '../../src/observability/metrics.js'
import { childEnv } from '../support/child-env.js'
import { isolatedEnv, topicNames, uniquePrefix } from '../support/names.js'
import { windowMeanModel } from '../support/window-mean-model.js'
import { freePort } from '../support/ports.js'
import { pollUntil } from '../support/poll.js'

const prefix = uniquePrefix('app')

function realEnv(): Record<string, string> {
  return {
    ...isolatedEnv(prefix),
    MVAD_TOPIC_PARTITIONS: '1',
    KAFKA_BROKERS: inject('kafkaBrokers'),
    REDIS_URL: inject('redisUrl'),
    SCHEMA_REGISTRY_URL: inject('schemaRegistryUrl'),
    MVAD_HTTP_HOST: '127.0.0.1',
    MVAD_HTTP_PORT: '0',
  }
}

function makeApp(env: Record<string, string>): ReturnType<typeof createApp> {
  const config = loadConfig(env)
  return createApp({
    config,
    logger: createLogger({ serviceName: 'it', level: 'silent' }),
    metrics: createMetrics({ serviceName: 'it', version: 'test', collectDefaults: false }),
    loadModel: windowMeanModel,
  })
}

describe('service shell against real Kafka, Redis and registry', () => {
  it('becomes ready, reports its dependencies up, and drains to stopped', async () => {
    const app = makeApp(realEnv())
    await app.start()
    try {
      expect(app.lifecycle.state).toBe('running')
      const ready = await fetch(`${app.url()}/readyz`)
      expect(ready.status).toBe(200)
      const body = (await ready.json()) as { dependencies: { name: string; up: boolean }[] }
      expect(body.dependencies.map((d) => [d.name, d.up])).toEqual([
        ['kafka', true],
        ['redis', true],
        ['schema_registry', true],
        ['consumer', true],
        ['control_consumer', true],
      ])
      const metrics = await (await fetch(`${app.url()}/metrics`)).text()
      expect(metrics).toContain('mvad_dependency_up{dependency="kafka",service="it"} 1')
    } finally {
      await app.stop('test done')
    }
    expect(app.lifecycle.state).toBe('stopped')
  })

  it('reports Redis down on /readyz while Redis has lost its data, keeps readings in Kafka meanwhile, and recovers once it is restored', async () => {
    const own = uniquePrefix('app-lost')
    const env = { ...realEnv(), ...isolatedEnv(own) }
    const app = makeApp(env)
    const redis = new Redis(inject('redisUrl'))
    const kafka = createKafka({ clientId: own, brokers: inject('kafkaBrokers').split(','), logLevel: logLevel.NOTHING })
    const deadLetters: string[] = []
    const dlqConsumer = kafka.consumer({ groupId: `${own}.dlq-reader` })
    await app.start()
    await dlqConsumer.connect()
    await dlqConsumer.subscribe({ topic: topicNames(own).dlq, fromBeginning: true })
    await dlqConsumer.run({
      eachMessage: ({ message }) => {
        deadLetters.push(message.key?.toString() ?? '')
        return Promise.resolve()
      },
    })
    const producer = kafka.producer()
    await producer.connect()
    const send = (entity: string): Promise<unknown> =>
      producer.send({
        topic: topicNames(own).readings,
        acks: -1,
        messages: [{ key: entity, value: JSON.stringify({ timestamp: Date.now(), values: { a: 1 } }) }],
      })
    const readiness = async (): Promise<{ status: number; redis?: { up: boolean; detail?: string } }> => {
      const response = await fetch(`${app.url()}/readyz`)
      const body = (await response.json()) as { dependencies: { name: string; up: boolean; detail?: string }[] }
      const entry = body.dependencies.find((d) => d.name === 'redis')
      return { status: response.status, ...(entry === undefined ? {} : { redis: entry }) }
    }
    const waitFor = async (status: number): Promise<{ redis?: { up: boolean; detail?: string } }> => {
      let state = await readiness()
      // The health check runs every 10 s.
      await pollUntil(`/readyz ${status}`, async () => (state = await readiness()).status === status, {
        timeoutMs: 25_000,
        intervalMs: 250,
      })
      return state
    }
    try {
      const marker = `${env.MVAD_REDIS_KEY_PREFIX}:store:marker`
      const token = await redis.get(marker)
      expect(token).not.toBeNull()
      await send('ghost-before') // no binding: dead-lettered unknown_entity, as usual
      await pollUntil('the first dead letter', () => deadLetters.includes('ghost-before'), { intervalMs: 250 })
      await redis.del(marker) // as a Redis restarted without persistence would leave it
      const down = await waitFor(503)
      expect(down.redis?.up).toBe(false)
      expect(down.redis?.detail).toMatch(/Redis lost this service's data/)
      await send('ghost-during') // would be dead-lettered like every reading: it waits in Kafka instead
      await new Promise((resolve) => setTimeout(resolve, 3_000))
      expect(deadLetters).toEqual(['ghost-before'])
      await redis.set(marker, token ?? '') // restored from a backup
      expect((await waitFor(200)).redis?.up).toBe(true)
      await pollUntil('the reading that waited', () => deadLetters.includes('ghost-during'), { intervalMs: 250 })
    } finally {
      await producer.disconnect()
      await dlqConsumer.disconnect()
      await app.stop('test done')
      await redis.quit()
    }
  }, 70_000)

  it('warns at start when Redis may evict keys under memory pressure, naming the policy', async () => {
    const admin = new Redis(inject('redisUrl'))
    const [, before] = (await admin.config('GET', 'maxmemory-policy')) as [string, string]
    const lines: string[] = []
    const app = createApp({
      config: loadConfig(realEnv()),
      logger: createLogger({ serviceName: 'it', level: 'warn' }, { write: (line: string) => void lines.push(line) }),
      metrics: createMetrics({ serviceName: 'it', version: 'test', collectDefaults: false }),
      loadModel: windowMeanModel,
    })
    // maxmemory stays 0 (no limit), so nothing is evicted while the policy is changed for this check.
    await admin.config('SET', 'maxmemory-policy', 'volatile-lru')
    try {
      await app.start()
      expect(lines.some((line) => line.includes('maxmemory-policy volatile-lru'))).toBe(true)
    } finally {
      await admin.config('SET', 'maxmemory-policy', before)
      await admin.quit()
      await app.stop('test done')
    }
  })

  it('fails start-up with a message naming each unreachable dependency', async () => {
    const app = makeApp({
      ...realEnv(),
      KAFKA_BROKERS: '127.0.0.1:1',
      REDIS_URL: 'redis://127.0.0.1:1',
      MVAD_STARTUP_TIMEOUT_MS: '1500',
    })
    await expect(app.start()).rejects.toThrow(/kafka \(.*\).*redis \(/)
    expect(app.lifecycle.state).toBe('failed')
    await app.stop('test done')
  })

  it('fails start-up naming MVAD_TOPIC_REPLICATION_FACTOR when its topics cannot have that many replicas', async () => {
    const app = makeApp({
      ...realEnv(),
      ...isolatedEnv(uniquePrefix('app-rf')),
      MVAD_TOPIC_REPLICATION_FACTOR: '3', // one broker here
      MVAD_STARTUP_TIMEOUT_MS: '5000',
    })
    await expect(app.start()).rejects.toThrow(
      /cannot create topics .*replication factor 3, MVAD_TOPIC_REPLICATION_FACTOR/,
    )
    await app.stop('test done')
  })

  it('fails start-up in time when a dependency accepts connections but never answers (probes bound their time)', async () => {
    const silent = createServer(() => undefined) // accepts, never writes a byte
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const port = (silent.address() as AddressInfo).port
    try {
      const app = makeApp({ ...realEnv(), REDIS_URL: `redis://127.0.0.1:${port}`, MVAD_STARTUP_TIMEOUT_MS: '1500' })
      const started = Date.now()
      await expect(app.start()).rejects.toThrow(/redis \(no answer in 3000 ms\)/)
      expect(Date.now() - started).toBeLessThan(10_000) // it used to wait for ever
      await app.stop('test done')
    } finally {
      silent.close()
    }
  }, 20_000)

  it('runs as a process: ready over HTTP, then a graceful SIGTERM exits 0 (a second one does not cut the drain)', async () => {
    const main = new URL('../../dist/src/main.js', import.meta.url).pathname
    expect(existsSync(main), `${main} is missing: run "npm run build" first (npm test does)`).toBe(true)
    const port = await freePort()
    const child = spawn(process.execPath, [main], {
      env: childEnv({ ...realEnv(), MVAD_HTTP_PORT: String(port) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    try {
      const deadline = Date.now() + 30_000
      let status = 0
      while (Date.now() < deadline && status !== 200) {
        status = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.status,
          () => 0,
        )
        if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200))
      }
      expect(status, output).toBe(200)
      child.kill('SIGTERM')
      // The second one while it drains (not after a fixed pause, which a fast drain could outrun).
      await pollUntil('the drain to start', () => output.includes('lifecycle running → draining'), { intervalMs: 5 })
      child.kill('SIGTERM') // e.g. a wrapper forwarding Ctrl-C too: it used to kill the process mid-drain (143)
      expect(await exited).toBe(0)
      expect(output).toContain('shutdown already in progress; signal ignored')
      expect(output).toContain('lifecycle running → draining')
      expect(output).toContain('lifecycle draining → stopped')
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('exits 2 and lists every configuration problem', async () => {
    const main = new URL('../../dist/src/main.js', import.meta.url).pathname
    const child = spawn(process.execPath, [main], {
      env: { PATH: process.env.PATH ?? '', MVAD_HTTP_PORT: 'x', KAFKA_BROKERS: 'nohost' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
    expect(code).toBe(2)
    expect(stderr).toContain('MVAD_HTTP_PORT')
    expect(stderr).toContain('KAFKA_BROKERS')
  })
})
