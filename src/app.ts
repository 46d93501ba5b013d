/**
 * Composition root of the service: wires config, logger, metrics, lifecycle, the ops HTTP server, the stores on
 * Redis, the schema registry (optional) and the scoring stream. main.ts → app.ts → stream/stream-service.ts →
 * stream/partition-worker.ts (whose header states the order of work).
 *
 * start(): HTTP first (so /livez answers while starting) → dependencies checked with a deadline → the stream joins
 *          its consumer group → running (ready).
 * stop():  draining → stream stops fetching, finishes its batch, commits, leaves the group → close HTTP and
 *          clients → stopped. Safe to call twice.
 */
import { logLevel as kafkaLogLevel, type Admin } from 'kafkajs'
import { createKafka } from './kafka/client.js'
import { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import type { Config } from './config/config.js'
import { ServiceError, toServiceError } from './errors.js'
import { Lifecycle } from './lifecycle.js'
import type { Logger } from './observability/logger.js'
import type { ServiceMetrics } from './observability/metrics.js'
import { createOpsServer, type DependencyStatus } from './http/server.js'
import { registerMvadApi, registerMvadApiElsewhere, restDataIdOf, restJobIdsOf } from './http/mvad/routes.js'
import { removeDataSourceFiles } from './http/mvad/data-source.js'
import { RestAdmission, type HeldDataOwner } from './http/mvad/admission.js'
import { ReadyModelCache } from './http/mvad/model-cache.js'
import { createStreamMetrics, dropModelSeries } from './observability/stream-metrics.js'
import { keySpace } from './state/keys.js'
import { RedisBindingStore } from './state/redis-binding-store.js'
import { RedisModelStore } from './state/redis-model-store.js'
import { RedisWindowStore } from './state/redis-window-store.js'
import { StoreMarker } from './state/store-marker.js'
import { evictionWarning } from './state/redis-eviction.js'
import { ModelResolver, type ModelLoader } from './stream/model-runtime.js'
import { RegistryCodec } from './stream/registry-codec.js'
import { clientOptions, insecureSettings, registryAuthorization } from './connections.js'
import { StreamService } from './stream/stream-service.js'
import { decodeReadingPayload } from './stream/registry-codec.js'
import { ControlService } from './control/control-service.js'
import { KafkaRangeReader } from './control/kafka-range-reader.js'
import { RedisJobStore } from './state/redis-job-store.js'
import { RedisResultStore } from './state/redis-result-store.js'
import { Counter } from 'prom-client'
import { redactedUrl } from './domain/redact.js'

const HEALTH_CHECK_INTERVAL_MS = 10_000

export interface AppDeps {
  config: Config
  logger: Logger
  metrics: ServiceMetrics
  /** Turns a stored model state into a scorer (the detection core); injected so tests can pass their own. */
  loadModel: ModelLoader
}

export interface App {
  readonly lifecycle: Lifecycle
  readonly http: FastifyInstance
  readonly stream: StreamService
  /** Absent when MVAD_CONTROL_ENABLED=false. */
  readonly control: ControlService | undefined
  /** Bound address once started, e.g. http://127.0.0.1:8080 */
  url(): string
  start(): Promise<void>
  stop(reason: string): Promise<void>
}

export function createApp({ config, logger, metrics, loadModel }: AppDeps): App {
  const lifecycle = new Lifecycle()
  lifecycle.onTransition((from, to, reason) => {
    metrics.setLifecycleState(to)
    const level = to === 'failed' ? 'error' : 'info'
    logger[level]({ from, to, reason }, `lifecycle ${from} → ${to}`)
  })
  metrics.setLifecycleState(lifecycle.state)

  let dependencyStatus: DependencyStatus[] = []

  const clients = clientOptions(config)
  const kafka = createKafka({
    clientId: config.kafka.clientId,
    ...clients.kafka,
    logLevel: kafkaLogLevel.NOTHING,
    connectionTimeout: 3_000,
    retry: { retries: 2, initialRetryTime: 300 },
  })
  let admin: Admin | undefined
  const redis = new Redis(clients.redis.url, { ...clients.redis.options, lazyConnect: true, maxRetriesPerRequest: 2 })
  // The last connection error, for the health check: a command that gave up says only "max retries per request".
  let redisConnectionError: Error | undefined
  redis.on('error', (error: Error) => {
    redisConnectionError = error
    logger.debug({ err: error }, 'redis connection error')
  })
  redis.on('ready', () => (redisConnectionError = undefined))
  const keys = keySpace(config.redis.keyPrefix)
  const storeMarker = new StoreMarker(redis, keys.storeMarker(), (message) => logger.error(message))
  const bindings = new RedisBindingStore(redis, keys)
  const models = new RedisModelStore(redis, keys)
  const windows = new RedisWindowStore(redis, keys, { idleTtlSeconds: config.stream.windowIdleTtlSeconds })
  const registry = clients.registry === undefined ? undefined : new RegistryCodec(clients.registry)
  const streamMetrics = createStreamMetrics(metrics.registry)
  const stream = new StreamService({
    kafka,
    windows,
    bindings,
    models: new ModelResolver(bindings, models, loadModel, {
      onShadowProblem: (entity, problem) =>
        logger.warn({ entity, problem }, 'shadow model not scored; the default model goes on'),
      onModelDropped: (modelId) => dropModelSeries(streamMetrics, modelId),
    }),
    ...(registry === undefined ? {} : { registry }),
    metrics: streamMetrics,
    logger: logger.child({ component: 'stream' }),
    onConsumerRestart: () => metrics.consumerRestarts.inc({ consumer: 'stream' }),
    options: {
      groupId: config.kafka.groupId,
      topics: {
        readings: config.kafka.topics.readings,
        events: config.kafka.topics.events,
        scores: config.kafka.topics.scores,
        deadLetter: config.kafka.topics.deadLetter,
      },
      allowedLatenessMs: config.stream.allowedLatenessMs,
      frameIdleFlushMs: config.stream.frameIdleFlushMs,
      maxFutureMs: config.stream.maxFutureMs,
      topContributorCount: config.stream.topContributorCount,
      publishScores: config.stream.publishScores,
      readingsStart: config.stream.readingsStart,
      newTopics: config.stream.newTopics,
      groupTimeouts: config.kafka.groupTimeouts,
    },
  })
  const jobStore = new RedisJobStore(redis, keys, { finishedTtlSeconds: config.control.jobRetentionSeconds })
  // What the REST API takes on at once (served with the control plane).
  const admission = new RestAdmission({
    bodyBytesInFlight: config.rest.bodyBytesInFlight,
    bodyLimitBytes: config.rest.bodyLimitBytes,
    heldDownloads: config.rest.maxHeldDownloads,
  })
  /** Whose data a folder in the REST data folder is: a job still to run, one that ended, or none known. */
  const restDataOwner = async (id: string): Promise<HeldDataOwner> => {
    for (const jobId of restJobIdsOf(id)) {
      const record = await jobStore.get(jobId)
      if (record !== undefined) return record.status === 'CREATED' || record.status === 'RUNNING' ? 'live' : 'ended'
    }
    return 'unknown'
  }
  const removeRestData = (id: string): Promise<void> => removeDataSourceFiles(config.rest.dataDir, id)
  const resultStore = new RedisResultStore(redis, keys)
  const control = config.control.enabled ? createControl() : undefined

  function createControl(): ControlService {
    const commands = new Counter({
      name: 'mvad_control_commands_total',
      help: 'Control-topic commands by outcome (accepted, duplicate = jobId already known, dead_lettered)',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    })
    const jobs = new Counter({
      name: 'mvad_jobs_status_changes_total',
      help: 'Job status changes published, by job type and new status',
      labelNames: ['type', 'status'],
      registers: [metrics.registry],
    })
    return new ControlService({
      kafka,
      jobs: jobStore,
      models,
      bindings,
      windows,
      results: resultStore,
      ...(registry === undefined ? {} : { registry }),
      rangeReader: new KafkaRangeReader(kafka, {
        groupPrefix: `${config.kafka.groupId}.replay`,
        decode: (payload) => decodeReadingPayload(payload, registry),
        maxFutureMs: config.stream.maxFutureMs,
      }),
      readingsTopic: config.kafka.topics.readings,
      // REST jobs read their files from the REST data folder or its local roots (checked by the REST API itself).
      fileRoots:
        config.control.fileRoots.length === 0
          ? []
          : [...config.control.fileRoots, config.rest.dataDir, ...config.rest.localRoots],
      chartsDir: config.control.chartsDir,
      resultTtlSeconds: config.control.resultTtlSeconds,
      jobRetentionMs: config.control.jobRetentionSeconds * 1000,
      reservedTopics: Object.entries(config.kafka.topics).map(([role, topic]) => ({
        topic,
        role: role.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
      })),
      logger: logger.child({ component: 'control' }),
      onConsumerRestart: () => metrics.consumerRestarts.inc({ consumer: 'control' }),
      topics: {
        control: config.kafka.topics.control,
        status: config.kafka.topics.status,
        deadLetter: config.kafka.topics.deadLetter,
      },
      groupId: config.kafka.groupId,
      newTopics: config.stream.newTopics,
      groupTimeouts: config.kafka.groupTimeouts,
      leaseMs: config.control.jobLeaseMs,
      concurrency: config.control.jobConcurrency,
      observer: {
        command: (outcome) => commands.inc({ outcome }),
        job: (type, status) => jobs.inc({ type, status }),
      },
      // What a REST request downloaded or unpacked for a job is removed once the job has read it.
      onJobEnded: async (record) => {
        const id = restDataIdOf(record)
        if (id === undefined) return
        await removeDataSourceFiles(config.rest.dataDir, id)
        admission.releaseHeld(id)
      },
    })
  }

  const http = createOpsServer({
    lifecycle,
    registry: metrics.registry,
    dependencies: () => [
      ...dependencyStatus,
      { name: 'consumer', up: stream.isConsuming, ...(stream.crashed ? { detail: stream.crashed.message } : {}) },
      ...(control === undefined ? [] : [{ name: 'control_consumer', up: control.isConsuming }]),
    ],
    bodyLimitBytes: config.rest.bodyLimitBytes,
    trustProxy: config.http.trustProxy,
  })
  // The MVAD REST API runs its jobs on this instance's control plane, so it is served where that runs.
  if (control !== undefined) {
    registerMvadApi(http, {
      models,
      results: resultStore,
      jobs: jobStore,
      bindings,
      submit: (command) => control.runner.submit(command),
      apiKey: config.rest.apiKey,
      dataSource: {
        dataDir: config.rest.dataDir,
        fetchMaxBytes: config.rest.fetchMaxBytes,
        fetchTimeoutMs: config.rest.fetchTimeoutMs,
        localRoots: config.rest.localRoots,
        fetchPrivateHosts: config.rest.fetchPrivateHosts,
      },
      trustProxy: config.http.trustProxy,
      admission,
      resultTtlSeconds: config.control.resultTtlSeconds,
      ...(config.rest.modelCacheBytes > 0 ? { modelCache: new ReadyModelCache(config.rest.modelCacheBytes) } : {}),
    })
  } else {
    registerMvadApiElsewhere(http)
  }
  let healthTimer: NodeJS.Timeout | undefined
  let address = ''
  let stopping: Promise<void> | undefined

  async function checkDependencies(): Promise<DependencyStatus[]> {
    const checks: Promise<DependencyStatus>[] = [
      check('kafka', async () => {
        admin ??= kafka.admin()
        await admin.connect()
        await admin.describeCluster()
      }),
      check('redis', async () => {
        try {
          if (redis.status === 'wait' || redis.status === 'end') await redis.connect()
          await redis.ping()
        } catch (error) {
          const at = redactedUrl(config.redis.url)
          // A connection error seen since the last ready says why; otherwise Redis answered (NOAUTH, LOADING, …).
          throw new Error(
            redisConnectionError === undefined
              ? `Redis at ${at} failed the check: ${String(error)}`
              : `cannot reach Redis at ${at}: ${redisConnectionError.message}`,
            { cause: error },
          )
        }
        try {
          await storeMarker.verify()
        } finally {
          stream.setStoreLost(storeMarker.lost)
        }
      }),
    ]
    const registryAccess = clients.registry
    if (registryAccess !== undefined) {
      const authorization = registryAuthorization(registryAccess)
      checks.push(
        check('schema_registry', async () => {
          const response = await fetch(`${registryAccess.url.replace(/\/$/, '')}/subjects`, {
            signal: AbortSignal.timeout(3_000),
            ...(authorization === undefined ? {} : { headers: { authorization } }),
          })
          if (!response.ok) throw new Error(`HTTP ${response.status}`)
        }),
      )
    }
    const results = await Promise.all(checks)
    for (const r of results) metrics.dependencyUp.set({ dependency: r.name }, r.up ? 1 : 0)
    if (registry !== undefined) registry.reachable = results.find((r) => r.name === 'schema_registry')?.up ?? true
    dependencyStatus = results
    return results
  }

  async function start(): Promise<void> {
    address = await http.listen({ host: config.http.host, port: config.http.port })
    // Fastify answers with one address; the bind address says who can reach the server (0.0.0.0: every interface).
    logger.info({ address, bind: config.http.host }, 'ops HTTP server listening')
    const loopback = ['127.0.0.1', '::1', 'localhost'].includes(config.http.host)
    if (control !== undefined && config.rest.apiKey === undefined && !loopback) {
      logger.warn(
        { bind: config.http.host },
        'the MVAD REST API takes requests without a key on every interface it listens on: set MVAD_API_KEY, ' +
          'or MVAD_HTTP_HOST=127.0.0.1 behind a proxy that authenticates',
      )
    }
    for (const warning of insecureSettings(config)) logger.warn(warning)
    const deadline = Date.now() + config.startupTimeoutMs
    for (;;) {
      const results = await checkDependencies()
      const down = results.filter((r) => !r.up)
      if (down.length === 0) break
      if (lifecycle.state !== 'starting') return // stop() was called while we waited
      if (Date.now() >= deadline) {
        const detail = down.map((d) => `${d.name} (${d.detail ?? 'down'})`).join(', ')
        const error = new ServiceError(
          'InfrastructureUnavailable',
          `dependencies not reachable after ${config.startupTimeoutMs} ms: ${detail}. ` +
            'Start them (npm run infra:up) or point KAFKA_BROKERS / REDIS_URL / SCHEMA_REGISTRY_URL at them.',
        )
        lifecycle.moveTo('failed', error.message)
        throw error
      }
      logger.warn({ down }, 'waiting for dependencies')
      await new Promise((resolve) => setTimeout(resolve, 1_000))
    }
    await warnIfRedisMayEvict()
    if (control !== undefined) {
      const leftovers = await admission.adoptLeftovers(config.rest.dataDir, restDataOwner, removeRestData, 15 * 60_000)
      if (leftovers.held.length + leftovers.removed.length > 0) {
        logger.info(leftovers, 'REST data left by an earlier run: kept for jobs still to run, removed for the others')
      }
    }
    await stream.start()
    await control?.start()
    const joinDeadline = Date.now() + config.startupTimeoutMs
    while ((!stream.isConsuming || control?.isConsuming === false) && lifecycle.state === 'starting') {
      if (Date.now() >= joinDeadline) {
        const error = new ServiceError('KafkaError', `consumer did not join group ${config.kafka.groupId} in time`)
        lifecycle.moveTo('failed', error.message)
        throw error
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    if (lifecycle.state !== 'starting') return // stop() was called while the consumers joined
    let checking = false
    healthTimer = setInterval(() => {
      if (checking) return // a probe still waits (bounded): do not pile checks up
      checking = true
      checkDependencies()
        .then(async (results) => {
          // REST data whose job ended elsewhere (another instance's sweep) is let go here.
          if (control !== undefined && results.some((r) => r.name === 'redis' && r.up)) {
            await admission
              .reconcile(restDataOwner, removeRestData)
              .catch((error: unknown) => logger.warn({ err: error }, 'could not check the REST data held here'))
          }
          // Outside the probes (their 3 s bound is for answering, not for four registrations): a registry that lost
          // the schemas gets them again; a failure here is logged, readiness is the probe's to say.
          if (!results.some((r) => r.name === 'schema_registry' && r.up)) return
          await stream
            .refreshSchemas()
            .catch((error: unknown) => logger.warn({ err: error }, 'could not register the schemas again'))
        })
        .catch((error: unknown) => logger.error({ err: error }, 'health check failed'))
        .finally(() => (checking = false))
    }, HEALTH_CHECK_INTERVAL_MS)
    healthTimer.unref()
    lifecycle.moveTo('running', 'dependencies reachable')
  }

  async function warnIfRedisMayEvict(): Promise<void> {
    try {
      const warning = evictionWarning(await redis.info('memory'))
      if (warning !== undefined) logger.warn(warning)
    } catch (error) {
      // Some managed services refuse INFO sections: the check is advice, not a condition to start.
      logger.info({ err: error }, "could not read Redis's maxmemory-policy (INFO memory); make sure it is noeviction")
    }
  }

  function stop(reason: string): Promise<void> {
    stopping ??= (async () => {
      if (lifecycle.canMoveTo('draining')) lifecycle.moveTo('draining', reason)
      clearInterval(healthTimer)
      // Stop fetching and finish the in-flight batch (publish, commit) before closing the clients it uses.
      await stream.stop().catch((error: unknown) => logger.warn({ err: error }, 'error while stopping the stream'))
      await control
        ?.stop()
        .catch((error: unknown) => logger.warn({ err: error }, 'error while stopping the control plane'))
      const closing = await Promise.allSettled([
        http.close(),
        admin?.disconnect() ?? Promise.resolve(),
        redis.status === 'ready' ? redis.quit() : Promise.resolve(redis.disconnect()),
      ])
      const failures = closing.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      for (const failure of failures) logger.warn({ err: toServiceError(failure.reason) }, 'error while closing')
      if (lifecycle.canMoveTo('stopped')) lifecycle.moveTo('stopped', reason)
    })()
    return stopping
  }

  return { lifecycle, http, stream, control, url: () => address, start, stop }
}

/** A dependency probe bounds its own time: a server that accepts connections but never answers is down, not pending. */
const PROBE_TIMEOUT_MS = 3_000

async function check(name: string, probe: () => Promise<void>): Promise<DependencyStatus> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS)
  })
  try {
    await Promise.race([probe(), timeout])
    return { name, up: true }
  } catch (error) {
    return { name, up: false, detail: error instanceof Error ? error.message : String(error) }
  } finally {
    clearTimeout(timer)
  }
}
