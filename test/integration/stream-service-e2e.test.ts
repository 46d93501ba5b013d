/**
 * The service as users run it (dist/src/main.js in its own process) on a bench entity (asd/omi-1): trained and
 * scored offline with the `mvad` CLI, uploaded and bound with the CLI, then streamed through Kafka as per-variable
 * readings. The events must equal the offline results row for row — and still do after a kill -9 mid-stream.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { logLevel } from 'kafkajs'
import { createKafka } from '../../src/kafka/client.js'
import { Redis } from 'ioredis'
import { eventId, type AnomalyEvent } from '../../src/stream/anomaly-event.js'
import { childEnv } from '../support/child-env.js'
import { isolatedEnv, uniquePrefix } from '../support/names.js'
import { freePort } from '../support/ports.js'
import { createTopicsAndWait } from '../../src/kafka/topics.js'

const run = promisify(execFile)
const ROOT = new URL('../../', import.meta.url).pathname
const CLI = join(ROOT, 'dist/src/cli/main.js')
const MAIN = join(ROOT, 'dist/src/main.js')
const ENTITY_DIR = join(ROOT, '../shared/data/bench/asd/omi-1')
const ENTITY = 'omi-1'
const WINDOW = 60

interface OfflineRow {
  timestamp: string
  value?: { isAnomaly: boolean; score: number; severity: number; interpretation: unknown[] }
  errors: unknown[]
}

describe('service process on a bench entity (asd/omi-1)', () => {
  const work = mkdtempSync(join(tmpdir(), 'mvad-e2e-'))
  const redis = new Redis(inject('redisUrl'))
  const kafka = createKafka({ clientId: 'e2e', brokers: inject('kafkaBrokers').split(','), logLevel: logLevel.NOTHING })
  let offline: OfflineRow[] = []
  let testRows: { timestamp: string; values: number[] }[] = []
  let variables: string[] = []

  beforeAll(async () => {
    for (const file of [CLI, MAIN]) expect(existsSync(file), `${file} missing: run "npm run build" first`).toBe(true)
    expect(existsSync(ENTITY_DIR), `bench data missing at ${ENTITY_DIR}`).toBe(true)
    await run(process.execPath, [
      CLI,
      'train',
      '--input',
      join(ENTITY_DIR, 'train.csv'),
      '--out',
      join(work, 'model.json'),
      '--sliding-window',
      String(WINDOW),
    ])
    await run(process.execPath, [
      CLI,
      'detect',
      '--model',
      join(work, 'model.json'),
      '--input',
      join(ENTITY_DIR, 'test.csv'),
      '--out',
      join(work, 'results.jsonl'),
    ])
    offline = readFileSync(join(work, 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as OfflineRow)
    const [header, ...lines] = readFileSync(join(ENTITY_DIR, 'test.csv'), 'utf8').trim().split(/\r?\n/)
    variables = (header ?? '').split(',').slice(1)
    testRows = lines.map((line) => {
      const [timestamp, ...values] = line.split(',')
      return { timestamp: timestamp ?? '', values: values.map(Number) }
    })
  }, 300_000)

  afterAll(async () => {
    rmSync(work, { recursive: true, force: true })
    await redis.quit()
  })

  async function setUp(label: string, redisUrl = inject('redisUrl')) {
    const prefix = uniquePrefix(label)
    const env = childEnv({
      KAFKA_BROKERS: inject('kafkaBrokers'),
      REDIS_URL: redisUrl,
      // JSON events here (the Avro path has its own test): an empty value means "not configured".
      SCHEMA_REGISTRY_URL: '',
      ...isolatedEnv(prefix),
      MVAD_PUBLISH_SCORES: 'true',
      MVAD_TOPIC_PARTITIONS: '2',
      MVAD_HTTP_HOST: '127.0.0.1',
      MVAD_LOG_LEVEL: 'warn',
    })
    const upload = await run(
      process.execPath,
      [CLI, 'model', 'upload', '--model', join(work, 'model.json'), '--name', 'omi'],
      { env },
    )
    expect(upload.stdout).toContain('version 1')
    // Pinned: the binding names version 1 (a CLI that took --version for the program's printed 0.1.0 and bound nothing).
    const bind = await run(process.execPath, [CLI, 'bind', '--entity', ENTITY, '--model', 'omi', '--version', '1'], {
      env,
    })
    expect(bind.stdout).toBe(`entity ${ENTITY} → model omi v1\n`)
    const admin = kafka.admin()
    await admin.connect()
    const topics = ['readings', 'events', 'scores', 'dlq'].map((t) => `${prefix}.${t}`)
    await createTopicsAndWait(
      admin,
      topics.map((topic) => ({ topic, numPartitions: 2 })),
    )
    const producer = kafka.producer()
    await producer.connect()
    const scores: AnomalyEvent[] = []
    const events: AnomalyEvent[] = []
    const consumers = await Promise.all(
      (['scores', 'events'] as const).map(async (kind) => {
        const consumer = kafka.consumer({ groupId: `${prefix}.collector.${kind}` })
        await consumer.connect()
        await consumer.subscribe({ topic: `${prefix}.${kind}`, fromBeginning: true })
        await consumer.run({
          eachMessage: ({ message }) => {
            ;(kind === 'scores' ? scores : events).push(JSON.parse(message.value?.toString() ?? '{}') as AnomalyEvent)
            return Promise.resolve()
          },
        })
        return consumer
      }),
    )
    const children: ChildProcess[] = []
    let serviceErrors = ''
    let lastPort = 0
    const startService = async (): Promise<ChildProcess> => {
      const port = await freePort()
      lastPort = port
      const child = spawn(process.execPath, [MAIN], {
        env: { ...env, MVAD_HTTP_PORT: String(port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      child.stderr?.on('data', (chunk: Buffer) => (serviceErrors += chunk.toString()))
      child.stdout?.on('data', (chunk: Buffer) => (serviceErrors += chunk.toString()))
      children.push(child)
      const deadline = Date.now() + 60_000
      for (;;) {
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.ok,
          () => false,
        )
        if (ready) return child
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(
            `service did not become ready (exit code ${child.exitCode ?? 'none'}); its output:\n${serviceErrors.slice(-4_000)}`,
          )
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    }
    const produceRows = async (from: number, to: number) => {
      const messages = testRows.slice(from, to).flatMap((row) =>
        row.values.map((value, j) => ({
          key: ENTITY,
          value: JSON.stringify({ variable: variables[j], timestamp: row.timestamp, value }),
        })),
      )
      for (let i = 0; i < messages.length; i += 5_000) {
        await producer.send({ topic: `${prefix}.readings`, acks: -1, messages: messages.slice(i, i + 5_000) })
      }
    }
    const waitForScores = async (count: number, timeoutMs = 90_000) => {
      const deadline = Date.now() + timeoutMs
      while (new Set(scores.map((e) => e.eventId)).size < count) {
        if (Date.now() > deadline) {
          const metrics = await fetch(`http://127.0.0.1:${lastPort}/metrics`).then(
            (r) => r.text(),
            () => '',
          )
          const ours = metrics
            .split('\n')
            .filter((l) => /^mvad_(readings|frames|dead|events)/.test(l))
            .join('\n')
          throw new Error(
            `only ${new Set(scores.map((e) => e.eventId)).size}/${count} scores; metrics:\n${ours}\nlogs:\n${serviceErrors.slice(-2000)}`,
          )
        }
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    }
    const tearDown = async () => {
      for (const child of children) child.kill('SIGKILL')
      for (const consumer of consumers) await consumer.disconnect()
      await producer.disconnect()
      await admin.deleteTopics({ topics }).catch(() => undefined)
      await admin.disconnect()
      if (redisUrl !== inject('redisUrl')) return // a private server, stopped by its test
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length > 0) await redis.del(...keys)
    }
    const logs = (): string => serviceErrors
    return { prefix, scores, events, startService, produceRows, waitForScores, tearDown, logs }
  }

  function expectEqualToOffline(scores: AnomalyEvent[], events: AnomalyEvent[]): void {
    const byId = new Map<string, AnomalyEvent>()
    for (const event of scores) {
      const seen = byId.get(event.eventId)
      if (seen !== undefined) expect(event).toEqual(seen) // a duplicate after a crash is the same event
      byId.set(event.eventId, event)
    }
    const scored = offline.filter((row) => row.value !== undefined)
    expect(scored.length).toBe(testRows.length) // the training tail gives every test row a full window
    expect(byId.size).toBe(scored.length)
    for (const row of scored) {
      const id = eventId(ENTITY, 'omi', 1, Date.parse(row.timestamp))
      const streamed = byId.get(id)
      expect(streamed, `no event for ${row.timestamp}`).toBeDefined()
      expect(Math.abs((streamed?.score ?? Number.NaN) - (row.value?.score ?? Number.NaN))).toBeLessThanOrEqual(1e-9)
      expect(streamed?.isAnomaly).toBe(row.value?.isAnomaly)
      expect(Math.abs((streamed?.severity ?? Number.NaN) - (row.value?.severity ?? Number.NaN))).toBeLessThanOrEqual(
        1e-9,
      )
      expect(streamed?.interpretation.map((c) => c.variable)).toEqual(
        (row.value?.interpretation as { variable: string }[]).map((c) => c.variable),
      )
    }
    const anomalies = new Set(
      scored.filter((row) => row.value?.isAnomaly).map((row) => eventId(ENTITY, 'omi', 1, Date.parse(row.timestamp))),
    )
    expect(new Set(events.map((e) => e.eventId))).toEqual(anomalies)
  }

  it('streams the test rows and publishes exactly the offline results (same eventIds, scores within 1e-9)', async () => {
    const s = await setUp('e2e')
    try {
      await s.startService()
      await s.produceRows(0, testRows.length)
      await s.waitForScores(testRows.length)
      await new Promise((resolve) => setTimeout(resolve, 500))
      expectEqualToOffline(s.scores, s.events)
    } finally {
      await s.tearDown()
    }
  })

  it('survives kill -9 mid-stream: after restart no event is lost and no reading counted twice', async () => {
    const s = await setUp('kill')
    try {
      const first = await s.startService()
      const half = Math.floor(testRows.length / 2)
      await s.produceRows(0, half)
      await s.waitForScores(200)
      first.kill('SIGKILL') // mid-stream: some of the first half is not scored or not committed yet
      await new Promise((resolve) => first.once('exit', resolve))
      await s.produceRows(half, testRows.length)
      await s.startService()
      await s.waitForScores(testRows.length, 180_000)
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      // Equal to offline ⇒ every window held each reading exactly once (a double-counted reading shifts the window).
      expectEqualToOffline(s.scores, s.events)
    } finally {
      await s.tearDown()
    }
  })
  it('rides out a Redis stall longer than the Kafka session timeout: no event lost, no reading counted twice', async () => {
    // A Redis server of its own, stopped (SIGSTOP) for 40 s mid-stream: its sockets stay open and its data kept,
    // so the service's Redis calls hang, its consumer stops heart-beating and the group evicts it (session 30 s).
    const port = await freePort()
    const server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    )
    const url = `redis://127.0.0.1:${port}`
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 100 })
    probe.on('error', () => undefined) // refused until the server listens
    const deadline = Date.now() + 10_000
    while ((await probe.ping().catch(() => '')) !== 'PONG') {
      if (Date.now() > deadline || server.exitCode !== null) throw new Error(`redis-server did not start on ${port}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    probe.disconnect()
    const s = await setUp('stall', url)
    try {
      await s.startService()
      const half = Math.floor(testRows.length / 2)
      await s.produceRows(0, half)
      await s.waitForScores(200)
      server.kill('SIGSTOP')
      await s.produceRows(half, testRows.length)
      await new Promise((resolve) => setTimeout(resolve, 40_000))
      server.kill('SIGCONT')
      await s.waitForScores(testRows.length, 180_000)
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      if (process.env.MVAD_TEST_SHOW_LOGS) console.log(s.logs())
      // The path this test is about: kafkajs gives up on the evicted member (non-retriable) and does not restart the
      // consumer; the service's supervisor does (consumer-supervisor.ts), in the same group, from committed offsets.
      expect(s.logs()).toContain('consumer crashed')
      expectEqualToOffline(s.scores, s.events)
    } finally {
      server.kill('SIGCONT')
      await s.tearDown()
      server.kill('SIGKILL')
    }
  }, 300_000)
})
