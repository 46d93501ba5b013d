/**
 * npm run bench:memory — peak resident memory of the service process (dist/src/main.js, spawned as the container
 * runs it) under the REST API's heaviest work, sampled from /proc every 50 ms:
 *
 *   idle         after start-up;
 *   train        two REST train jobs at once on smd entities of the bench (23.7k rows × 38 variables, window 300);
 *   detect-last  MVAD's largest detect-last (2,880 timestamps × 300 variables, ~38 MiB of JSON) on a model trained
 *                here on seeded synthetic data, sent twice at once: the admission lets one in and answers 429 to the
 *                other (MVAD_REST_BODY_BYTES_IN_FLIGHT);
 *   both         the two together.
 *
 * Each load runs against a fresh service process. Needs the local infra (npm run infra:up) or KAFKA_BROKERS and
 * REDIS_URL; BENCH_DIR (bench data: ../shared/data/bench); BENCH_LOADS (comma-separated, default every load).
 * Linux only (/proc).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { modelFileForSeries } from '../src/cli/model-file.js'
import type { AlignedSeries } from '../src/domain/types.js'
import { fitModel } from '../src/model/index.js'
import { seededRandom } from '../src/model/random.js'
import { keySpace } from '../src/state/keys.js'
import { RedisModelStore } from '../src/state/redis-model-store.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:16379'
const benchDir = process.env.BENCH_DIR ?? resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'bench')
const LOADS = (process.env.BENCH_LOADS ?? 'idle,train,detect-last,both').split(',')
const MAIN = resolve(import.meta.dirname, '..', 'src', 'main.js')
const API = '/anomalydetector/v1.1/multivariate'
const BIG_VARIABLES = 300
const BIG_WINDOW = 2_880

/** A 300-variable model with window 2,880 on seeded sinusoids (the largest MVAD allows), as a model file. */
function bigModelFile(): { json: string; variables: string[] } {
  const random = seededRandom(11)
  const rowsCount = BIG_WINDOW + 220
  const variables = Array.from({ length: BIG_VARIABLES }, (_, j) => `v${j}`)
  const rows = Array.from({ length: rowsCount }, (_, t) =>
    Float64Array.from(variables, (_, j) => Math.sin(t / 50 + j) + 0.1 * random()),
  )
  const series: AlignedSeries = {
    variables,
    timestamps: rows.map((_, t) => Date.UTC(2024, 0, 1) + t * 60_000),
    rows,
    variableStates: [],
  }
  const fitted = fitModel(series, { slidingWindow: BIG_WINDOW })
  const file = modelFileForSeries(fitted, series, {
    source: 'bench:memory synthetic',
    slidingWindow: BIG_WINDOW,
    alignPolicy: { alignMode: 'Outer', fillNAMethod: 'Linear', paddingValue: 0 },
    trainingSeconds: 0,
  })
  return { json: JSON.stringify(file), variables }
}

/** MVAD's largest detect-last body: 2,880 timestamps of every variable, continuing the training period. */
function bigDetectLastBody(variables: readonly string[]): string {
  const start = Date.UTC(2024, 0, 4)
  const timestamps = Array.from({ length: BIG_WINDOW }, (_, i) => new Date(start + i * 60_000).toISOString())
  const random = seededRandom(12)
  return JSON.stringify({
    variables: variables.map((variable, j) => ({
      variable,
      timestamps,
      values: timestamps.map((_, i) => Math.sin(i / 50 + j) + 0.1 * random()),
    })),
    topContributorCount: 10,
  })
}

/** Resident memory of a process (MiB), now and its high-water mark. */
function residentMiB(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
  return { now: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 }
}

interface Service {
  child: ChildProcess
  base: string
  prefix: string
  stop(): Promise<void>
}

async function startService(port: number): Promise<Service> {
  const prefix = `bench-mem-${Date.now()}`
  const dataDir = mkdtempSync(join(tmpdir(), 'mvad-bench-mem-'))
  const topics = ['READINGS', 'EVENTS', 'SCORES', 'DLQ', 'CONTROL', 'STATUS']
  const child = spawn(process.execPath, [MAIN], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      SCHEMA_REGISTRY_URL: '',
      MVAD_REDIS_KEY_PREFIX: prefix,
      KAFKA_GROUP_ID: prefix,
      ...Object.fromEntries(topics.map((t) => [`MVAD_TOPIC_${t}`, `${prefix}.${t.toLowerCase()}`])),
      MVAD_TOPIC_PARTITIONS: '1',
      MVAD_HTTP_HOST: '127.0.0.1',
      MVAD_HTTP_PORT: String(port),
      MVAD_REST_DATA_DIR: join(dataDir, 'rest'),
      MVAD_CHARTS_DIR: join(dataDir, 'charts'),
      MVAD_REST_LOCAL_ROOTS: benchDir,
      MVAD_LOG_LEVEL: 'warn',
    },
  })
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 120_000
  for (;;) {
    const ready = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    )
    if (ready) break
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('the service did not become ready')
    await sleep(250)
  }
  return {
    child,
    base,
    prefix,
    async stop() {
      child.kill('SIGTERM')
      if (child.exitCode === null) await new Promise((done) => child.once('exit', done))
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

async function trainTwo(service: Service): Promise<string> {
  const train = async (entity: string): Promise<string> => {
    const response = await fetch(`${service.base}${API}/models`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        dataSource: resolve(benchDir, 'smd', entity, 'train.csv'),
        startTime: '2024-01-01T00:00:00Z',
        endTime: '2024-12-31T00:00:00Z',
        slidingWindow: 300,
      }),
    })
    const body = (await response.json()) as { modelId?: string; message?: string }
    if (response.status !== 201 || body.modelId === undefined)
      throw new Error(`train: ${response.status} ${body.message}`)
    for (;;) {
      const info = (await (await fetch(`${service.base}${API}/models/${body.modelId}`)).json()) as {
        modelInfo?: { status?: string }
      }
      const status = info.modelInfo?.status
      if (status === 'READY' || status === 'FAILED') return status
      await sleep(250)
    }
  }
  const statuses = await Promise.all([train('machine-1-6'), train('machine-2-1')])
  return `two trains ${statuses.join(', ')}`
}

async function detectLastTwice(service: Service, body: string): Promise<string> {
  const send = (): Promise<number> =>
    fetch(`${service.base}${API}/models/big:detect-last`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    }).then(async (r) => {
      await r.arrayBuffer()
      return r.status
    })
  const statuses = await Promise.all([send(), send()])
  return `two detect-last answered ${statuses.sort().join(', ')}`
}

async function main(): Promise<void> {
  console.log('bench:memory: building the 300-variable model (window 2,880) on seeded synthetic data …')
  const started = performance.now()
  const big = bigModelFile()
  const body = bigDetectLastBody(big.variables)
  console.log(
    `  model ${(big.json.length / 2 ** 20).toFixed(1)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
      `detect-last body ${(body.length / 2 ** 20).toFixed(1)} MiB`,
  )
  const redis = new Redis(REDIS_URL)
  let port = 18_970
  try {
    for (const load of LOADS) {
      const service = await startService(port++)
      try {
        const pid = service.child.pid as number
        const store = new RedisModelStore(redis, keySpace(service.prefix))
        await store.registerReady('big', big.json, { variables: big.variables, slidingWindow: BIG_WINDOW })
        const idle = residentMiB(pid).now
        let sampled = idle
        const sampler = setInterval(() => (sampled = Math.max(sampled, residentMiB(pid).now)), 50)
        const t0 = performance.now()
        const outcomes: string[] = []
        if (load === 'train') outcomes.push(await trainTwo(service))
        if (load === 'detect-last') outcomes.push(await detectLastTwice(service, body))
        if (load === 'both') {
          const training = trainTwo(service)
          await sleep(1_500) // the jobs are fitting in their worker threads
          outcomes.push(await detectLastTwice(service, body), await training)
        }
        clearInterval(sampler)
        const { peak } = residentMiB(pid)
        const seconds = ((performance.now() - t0) / 1000).toFixed(1)
        console.log(
          `${load.padEnd(12)} idle ${idle.toFixed(0)} MiB, peak ${Math.max(sampled, peak).toFixed(0)} MiB (VmHWM ${peak.toFixed(0)})` +
            (outcomes.length > 0 ? `; ${outcomes.join('; ')} in ${seconds} s` : ''),
        )
      } finally {
        const stale = await redis.keys(`${service.prefix}*`)
        if (stale.length > 0) await redis.del(...stale)
        await service.stop()
      }
    }
  } finally {
    await redis.quit()
  }
}

await main()
