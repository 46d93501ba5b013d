/**
 * Control-plane jobs through their whole life on real Kafka and Redis, each test on its own: a command too old to
 * run, a cancel, an instance killed mid-job, a final status an instance recorded but never sent. (control.test.ts
 * covers what the jobs do: training, deploying, detect-batch.)
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { Redis } from 'ioredis'
import { type App } from '../../src/app.js'
import { keySpace } from '../../src/state/keys.js'
import { RedisModelStore } from '../../src/state/redis-model-store.js'
import { testApp, testEnv } from '../support/test-app.js'
import { childEnv } from '../support/child-env.js'
import { ControlClient, TopicCollector } from '../support/control-harness.js'
import { jsonSchemaProblems } from '../support/json-schema.js'
import { topicNames, uniquePrefix } from '../support/names.js'
import { freePort } from '../support/ports.js'
import { pollUntil } from '../support/poll.js'

const ROOT = new URL('../../', import.meta.url).pathname
const MAIN = join(ROOT, 'dist/src/main.js')
const BENCH = join(ROOT, '../shared/data/bench')
const SMD = join(BENCH, 'smd/machine-1-6')

const prefix = uniquePrefix('ctl-jobs')
const topics = topicNames(prefix)

/** This file's service settings (the in-process service's, and the killed instance's on top of its own). */
const env = (overrides: Record<string, string> = {}): Record<string, string> =>
  testEnv(prefix, { MVAD_JOB_LEASE_MS: '2000', MVAD_CONTROL_FILE_ROOTS: BENCH, ...overrides })

describe('control jobs: expiry, cancel, crash, lost status', () => {
  const redis = new Redis(inject('redisUrl'))
  const models = new RedisModelStore(redis, keySpace(prefix))
  const client = new ControlClient(inject('kafkaBrokers').split(','), redis, prefix, topics.control)
  const status = new TopicCollector()
  const dlq = new TopicCollector()
  let app: App

  beforeAll(async () => {
    expect(existsSync(MAIN), `${MAIN} missing: run "npm run build" first`).toBe(true)
    expect(existsSync(SMD), `bench data missing at ${SMD}`).toBe(true)
    app = testApp(prefix, env())
    await app.start()
    await status.start(client.kafka, topics.status, `${prefix}.c-status`)
    await dlq.start(client.kafka, topics.dlq, `${prefix}.c-dlq`)
  }, 120_000)

  afterAll(async () => {
    await Promise.all([status.stop(), dlq.stop()])
    await app?.stop('test done')
    const stale = await redis.keys(`${prefix}*`)
    if (stale.length > 0) await redis.del(...stale)
    await redis.quit()
  })

  it('does not run a command older than the job retention whose job is not known (it may have run and been forgotten)', async () => {
    await models.registerReady('kept', '{}', { variables: ['a'], slidingWindow: 28 }) // what the old delete names
    const eightDaysAgo = Date.now() - 8 * 24 * 3600 * 1000 // the retention is 7 days
    const known = { type: 'delete-model', jobId: 'known-old', modelId: 'no-such-model' }
    expect(await client.run(known)).toMatchObject({ status: 'FAILED', errors: [{ code: 'ModelNotExist' }] })
    await client.send(known, topics.control, eightDaysAgo) // a redelivery: its record is there, nothing happens
    await client.send({ type: 'delete-model', jobId: 'forgotten', modelId: 'kept' }, topics.control, eightDaysAgo)
    const letterOf = (jobId: string) =>
      dlq.messages.find(
        (m) =>
          m.headers['mvad-source-topic']?.toString() === topics.control &&
          m.headers['mvad-job-id']?.toString() === jobId,
      )
    await pollUntil('the old command to be dead-lettered', () => letterOf('forgotten') !== undefined)
    expect(letterOf('forgotten')?.headers['mvad-dlq-reason']?.toString()).toBe('command_expired')
    expect(letterOf('forgotten')?.headers['mvad-dlq-detail']?.toString()).toContain('longer ago than the job retention')
    expect(await client.jobs.get('forgotten')).toBeUndefined()
    expect(await models.getInfo('kept')).toBeDefined()
    await new Promise((resolve) => setTimeout(resolve, 1_000)) // time for a (wrong) letter of the redelivery
    expect(letterOf('known-old')).toBeUndefined()
  }, 30_000)

  const longTrain = (jobId: string, modelId: string): object => ({
    type: 'train',
    jobId,
    modelId,
    source: { kind: 'file', path: join(SMD, 'test.csv') },
    labels: { path: join(SMD, 'labels.csv') },
    slidingWindow: 100,
  })

  it('cancel stops a running job; its model version ends FAILED', async () => {
    await client.send(longTrain('long-1', 'smd-cancel'))
    await client.waitFor('long-1', (r) => r.status === 'RUNNING' && r.progress >= 30, 60_000)
    await client.send({ type: 'cancel', jobId: 'cancel-1', targetJobId: 'long-1' })
    expect(await client.finished('cancel-1')).toMatchObject({ status: 'READY', result: { cancelRequested: true } })
    expect(await client.finished('long-1', 10_000)).toMatchObject({
      status: 'FAILED',
      errors: [{ code: 'JobCanceled' }],
    })
    expect((await models.getInfo('smd-cancel', 1))?.status).toBe('FAILED')
  }, 90_000)

  it('a crash (kill -9) mid-job leaves the job FAILED, not RUNNING, once its lease expires', async () => {
    const control2 = `${prefix}.control2`
    const port = await freePort()
    const child = spawn(process.execPath, [MAIN], {
      env: childEnv(
        env({
          KAFKA_GROUP_ID: `${prefix}.group2`,
          MVAD_TOPIC_CONTROL: control2,
          MVAD_TOPIC_READINGS: `${prefix}.readings2`,
          MVAD_LOG_LEVEL: 'warn',
          MVAD_HTTP_PORT: String(port),
        }),
      ),
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    try {
      const readyBy = Date.now() + 60_000
      for (;;) {
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.ok,
          () => false,
        )
        if (ready) break
        if (Date.now() > readyBy) throw new Error(`second instance not ready; stderr: ${stderr.slice(-2000)}`)
        await new Promise((r) => setTimeout(r, 200))
      }
      await client.send(longTrain('long-2', 'smd-crash'), control2)
      await client
        .waitFor('long-2', (r) => r.status === 'RUNNING' && r.progress >= 30, 60_000)
        .catch((error: unknown) => {
          throw new Error(`${String(error)}; service stderr: ${stderr.slice(-2000)}`)
        })
    } finally {
      child.kill('SIGKILL')
    }
    const failed = await client.finished('long-2', 15_000)
    expect(failed).toMatchObject({ status: 'FAILED', errors: [{ code: 'JobInterrupted' }] })
    // The version is failed by the job's cleanup, just after the job itself (only the instance that won the job's
    // FAILED write cleans up, so an instance that was merely slow never has its model failed under it).
    await pollUntil('model version FAILED', async () => (await models.getInfo('smd-crash', 1))?.status === 'FAILED', {
      timeoutMs: 5_000,
      intervalMs: 50,
    })
  }, 120_000)

  it('sends a final status that an instance recorded but did not send (it died in between), once', async () => {
    // As a dying instance leaves it: the job finished in Redis 10 s ago (five 2-s leases), its status never sent.
    const finishedAt = new Date(Date.now() - 10_000)
    const jobId = `${prefix}-unsent`
    const countedBefore = await readyDeletesCounted()
    await client.jobs.create(jobId, 'delete-model', { type: 'delete-model', jobId, modelId: 'gone' }, finishedAt)
    await client.jobs.update(jobId, { status: 'RUNNING', lease: { owner: 'dead', until: finishedAt } }, finishedAt)
    await client.jobs.update(jobId, { status: 'READY', result: { modelId: 'gone', deleted: true } }, finishedAt)
    const sent = (): { status: string; lastUpdatedTime: string }[] =>
      status.messages
        .filter((m) => m.key === jobId)
        .map((m) => JSON.parse(m.value) as { status: string; lastUpdatedTime: string })
    await pollUntil('final status sent again', () => Promise.resolve(sent().length > 0), {
      timeoutMs: 15_000,
      intervalMs: 100,
    })
    expect(sent()).toEqual([expect.objectContaining({ status: 'READY', lastUpdatedTime: finishedAt.toISOString() })])
    // The message is the job, without the record's delivery bookkeeping; and a status sent again is not a job counted.
    expect(Object.keys(sent()[0] ?? {}).filter((key) => key.startsWith('finalStatus'))).toEqual([])
    expect(await readyDeletesCounted()).toBe(countedBefore)
    // A delete-model job this instance runs is counted: the metric read above is the one the service keeps.
    await models.registerReady(`${prefix}-counted`, '{}', { variables: ['a'], slidingWindow: 28 })
    await client.send({ type: 'delete-model', jobId: `${prefix}-counted`, modelId: `${prefix}-counted` })
    expect(await client.finished(`${prefix}-counted`)).toMatchObject({ status: 'READY' })
    // Counted as its status is sent, which may come just after the record that `finished` reads.
    await pollUntil('the delete counted', async () => (await readyDeletesCounted()) === countedBefore + 1, {
      timeoutMs: 5_000,
      intervalMs: 50,
    })
    await client.waitFor(jobId, (r) => r.finalStatusUnsent === undefined, 5_000)
    await new Promise((resolve) => setTimeout(resolve, 4_500)) // two more sweeps: nothing sent again
    expect(sent()).toHaveLength(1)
  }, 40_000)

  /** mvad_jobs_status_changes_total for delete-model jobs reaching READY, as /metrics shows it. */
  async function readyDeletesCounted(): Promise<number> {
    const text = await (await fetch(`${app.url()}/metrics`)).text()
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('mvad_jobs_status_changes_total{') &&
          l.includes('type="delete-model"') &&
          l.includes('status="READY"'),
      )
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
  }

  it('publishes status messages that match schemas/json/job-status.v1.json (cancel jobs among them)', () => {
    const problems = jsonSchemaProblems('job-status.v1.json')
    const messages = status.messages.map((m) => JSON.parse(m.value) as { jobId: string; type: string; status: string })
    expect(new Set(messages.map((m) => m.type))).toEqual(new Set(['train', 'delete-model', 'cancel']))
    const invalid = messages.flatMap((m) => {
      const found = problems(m)
      return found.length === 0 ? [] : [{ jobId: m.jobId, status: m.status, problems: found }]
    })
    expect(invalid).toEqual([])
  })
})
