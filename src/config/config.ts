/**
 * Configuration compiled once: raw environment → defaults → validated, frozen, typed `Config` (durations in ms,
 * sizes in bytes). Pure: the caller passes the environment (main.ts for the service, cli/program.ts for the CLI). Every problem is
 * reported at once, each with the variable name it came from. See docs/config.md for the table.
 */
import { z } from 'zod'
import { ServiceError } from '../errors.js'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const

const port = z.coerce.number().int().min(0).max(65_535)
const positiveMs = z.coerce.number().int().positive()
const msIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max)
const nonEmpty = z.string().trim().min(1)
/** Comma-separated folders (empty items dropped). */
const folderList = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((folder) => folder.trim())
      .filter((folder) => folder !== ''),
  )
const brokerList = nonEmpty.transform((value, ctx) => {
  const brokers = value.split(',').map((b) => b.trim())
  for (const broker of brokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(broker)) {
      ctx.addIssue({ code: 'custom', message: `"${broker}" is not host:port` })
    }
  }
  return brokers
})
const redisUrl = nonEmpty.refine((value) => /^rediss?:\/\//.test(value), 'must start with redis:// or rediss://')
const httpUrl = nonEmpty.refine((value) => /^https?:\/\//.test(value), 'must start with http:// or https://')
const flag = (fallback: 'true' | 'false') =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(fallback)
    .transform((value) => value === 'true' || value === '1')
/** The consumer groups' session timeout and heartbeat (ms) when the environment gives none: kafkajs's own. */
export const DEFAULT_GROUP_TIMEOUTS = Object.freeze({ sessionTimeout: 30_000, heartbeatInterval: 3_000 })
const topicName = nonEmpty.regex(/^[a-zA-Z0-9._-]{1,249}$/, 'Kafka topic names use letters, digits, . _ - (≤249)')

/** Environment variable → config path. The variable names are the public contract (docs/config.md). */
const envSchema = z.object({
  MVAD_SERVICE_NAME: nonEmpty.default('mvad-stream'),
  MVAD_HTTP_HOST: nonEmpty.default('0.0.0.0'),
  MVAD_HTTP_PORT: port.default(8080),
  MVAD_HTTP_TRUST_PROXY: flag('false'),
  MVAD_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  MVAD_SHUTDOWN_GRACE_MS: positiveMs.default(30_000),
  MVAD_STARTUP_TIMEOUT_MS: positiveMs.default(60_000),
  KAFKA_BROKERS: brokerList.default(['127.0.0.1:19092']),
  KAFKA_CLIENT_ID: nonEmpty.default('mvad-stream'),
  KAFKA_GROUP_ID: nonEmpty.default('mvad-stream'),
  KAFKA_SSL: flag('false'),
  KAFKA_SSL_CA_FILE: nonEmpty.optional(),
  KAFKA_SSL_CERT_FILE: nonEmpty.optional(),
  KAFKA_SSL_KEY_FILE: nonEmpty.optional(),
  KAFKA_SSL_KEY_PASSWORD: z.string().optional(),
  KAFKA_SSL_REJECT_UNAUTHORIZED: flag('true'),
  // kafkajs names mechanisms in lower case, Kafka's own clients (sasl.mechanism) in upper case: both are taken.
  KAFKA_SASL_MECHANISM: z.preprocess((value) => String(value).toLowerCase(), z.enum(SASL_MECHANISMS)).optional(),
  KAFKA_SASL_USERNAME: nonEmpty.optional(),
  KAFKA_SASL_PASSWORD: z.string().optional(),
  // The broker's group.min/max.session.timeout.ms (6 s and 30 min by default) bound what it accepts.
  KAFKA_SESSION_TIMEOUT_MS: msIn(6_000, 1_800_000).default(DEFAULT_GROUP_TIMEOUTS.sessionTimeout),
  KAFKA_HEARTBEAT_INTERVAL_MS: msIn(100, 600_000).default(DEFAULT_GROUP_TIMEOUTS.heartbeatInterval),
  MVAD_TOPIC_READINGS: topicName.default('mvad.readings'),
  MVAD_TOPIC_EVENTS: topicName.default('mvad.events'),
  MVAD_TOPIC_SCORES: topicName.default('mvad.scores'),
  MVAD_TOPIC_DLQ: topicName.default('mvad.dlq'),
  MVAD_TOPIC_CONTROL: topicName.default('mvad.control'),
  MVAD_TOPIC_STATUS: topicName.default('mvad.status'),
  REDIS_URL: redisUrl.default('redis://127.0.0.1:16379'),
  MVAD_REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9:_-]*$/, 'letters, digits, : _ -')
    .default('mvad'),
  REDIS_TLS_CA_FILE: nonEmpty.optional(),
  SCHEMA_REGISTRY_URL: httpUrl.optional(),
  SCHEMA_REGISTRY_USERNAME: nonEmpty.optional(),
  SCHEMA_REGISTRY_PASSWORD: z.string().optional(),
  MVAD_ALLOWED_LATENESS_MS: z.coerce.number().int().min(0).default(0),
  MVAD_FRAME_IDLE_FLUSH_MS: z.coerce.number().int().min(0).default(300_000),
  MVAD_MAX_FUTURE_MS: z.coerce.number().int().min(0).default(86_400_000),
  MVAD_TOP_CONTRIBUTORS: z.coerce.number().int().min(1).max(30).default(10),
  MVAD_PUBLISH_SCORES: flag('false'),
  MVAD_READINGS_START: z.enum(['earliest', 'latest']).default('earliest'),
  MVAD_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(6),
  MVAD_TOPIC_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(32).optional(),
  MVAD_CONTROL_ENABLED: flag('true'),
  MVAD_JOB_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  MVAD_JOB_LEASE_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(15_000),
  MVAD_RESULT_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .default(7 * 24 * 3600),
  MVAD_CHARTS_DIR: nonEmpty.default('./mvad-data/charts'),
  MVAD_CONTROL_FILE_ROOTS: folderList,
  MVAD_API_KEY: z
    .string()
    .min(16, 'use at least 16 characters')
    // k8s/secret.example.yaml's placeholder, applied unedited, would guard the API with a key anyone can read.
    .refine((key) => !/change-me/i.test(key), 'is the example placeholder: generate a key (openssl rand -hex 32)')
    .optional(),
  MVAD_REST_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024 * 1024), // MVAD's largest detect-last (2,880 timestamps × 300 variables, full-precision values) is ~38 MiB of JSON
  MVAD_REST_FETCH_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(512 * 1024 * 1024),
  MVAD_REST_FETCH_TIMEOUT_MS: positiveMs.default(60_000),
  MVAD_REST_BODY_BYTES_IN_FLIGHT: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024 * 1024),
  MVAD_REST_MODEL_CACHE_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(64 * 1024 * 1024),
  MVAD_REST_MAX_HELD_DOWNLOADS: z.coerce.number().int().min(1).max(1000).default(4),
  MVAD_REST_DATA_DIR: nonEmpty.default('./mvad-data/rest'),
  MVAD_REST_LOCAL_ROOTS: folderList,
  MVAD_REST_FETCH_PRIVATE_HOSTS: flag('false'),
  MVAD_JOB_RETENTION_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .default(7 * 24 * 3600),
  MVAD_WINDOW_IDLE_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .default(7 * 24 * 3600),
})

export interface Config {
  readonly serviceName: string
  readonly http: { readonly host: string; readonly port: number; readonly trustProxy: boolean }
  readonly logLevel: (typeof LOG_LEVELS)[number]
  readonly shutdownGraceMs: number
  readonly startupTimeoutMs: number
  readonly kafka: {
    readonly brokers: readonly string[]
    readonly clientId: string
    readonly groupId: string
    /** TLS to the brokers; undefined: plaintext. The files are read when clients are made (src/connections.ts). */
    readonly tls:
      | {
          readonly caFile: string | undefined
          readonly certFile: string | undefined
          readonly keyFile: string | undefined
          /** Passphrase of an encrypted key. */
          readonly keyPassword: string | undefined
          readonly rejectUnauthorized: boolean
        }
      | undefined
    readonly sasl:
      | { readonly mechanism: (typeof SASL_MECHANISMS)[number]; readonly username: string; readonly password: string }
      | undefined
    /** The consumer groups' liveness: a member silent for `sessionTimeout` ms is removed and its partitions move. */
    readonly groupTimeouts: { readonly sessionTimeout: number; readonly heartbeatInterval: number }
    readonly topics: {
      readonly readings: string
      readonly events: string
      readonly scores: string
      readonly deadLetter: string
      readonly control: string
      readonly status: string
    }
  }
  /** `tlsCaFile`: the CA that signed a rediss:// server's certificate, when not a public one. */
  readonly redis: { readonly url: string; readonly keyPrefix: string; readonly tlsCaFile: string | undefined }
  /** Absent: JSON only, no registry-encoded messages. */
  readonly schemaRegistry: RegistryAccess | undefined
  readonly stream: {
    /** How long past a frame's timestamp the entity's watermark may move before the frame is scored incomplete. */
    readonly allowedLatenessMs: number
    /** Incomplete frames of an entity silent this long (Kafka time) are scored with fills (0 = they wait). */
    readonly frameIdleFlushMs: number
    readonly maxFutureMs: number
    readonly topContributorCount: number
    /** Publish every score to the scores topic, not only anomalies to the events topic. */
    readonly publishScores: boolean
    /** Where a consumer group with no committed offset starts on the readings topic. */
    readonly readingsStart: 'earliest' | 'latest'
    /** Partitions and replication factor of the topics the service creates when they are missing. */
    readonly newTopics: { readonly numPartitions: number; readonly replicationFactor: number | undefined }
    /** Windows of entities that send nothing for this long expire from Redis (0 = never). */
    readonly windowIdleTtlSeconds: number
  }
  readonly control: {
    /** Consume the control topic and run jobs on this instance. */
    readonly enabled: boolean
    /** Jobs run at once on this instance (training takes a worker thread each). */
    readonly jobConcurrency: number
    /** A job whose instance stops renewing its lease for this long is taken over (CREATED) or failed (RUNNING). */
    readonly jobLeaseMs: number
    /** detect-batch results are kept this long. */
    readonly resultTtlSeconds: number
    /** Seconds a finished job's record is kept (0 = for ever). */
    readonly jobRetentionSeconds: number
    /** Where charts asked for by jobs are written. */
    readonly chartsDir: string
    /** Folders control commands may name files in (symbolic links resolved); empty: any file (warned at start). */
    readonly fileRoots: readonly string[]
  }
  /** The MVAD v1.1 REST API (served with the control plane). */
  readonly rest: {
    /** When set, requests need it in `Ocp-Apim-Subscription-Key`. */
    readonly apiKey: string | undefined
    readonly bodyLimitBytes: number
    /** Limits of http(s) dataSource downloads, and where downloads and unpacked zips go. */
    readonly fetchMaxBytes: number
    readonly fetchTimeoutMs: number
    /** Bytes of detect-last bodies this instance works on at once (429 beyond; a request alone always goes in). */
    readonly bodyBytesInFlight: number
    /** Length of the model states' JSON kept parsed for detect-last (0: none kept). */
    readonly modelCacheBytes: number
    /** REST requests whose downloaded data this instance holds at once, until their jobs end (429 beyond). */
    readonly maxHeldDownloads: number
    readonly dataDir: string
    /** Folders a local-path or file:// dataSource may be in; none = local paths refused. */
    readonly localRoots: readonly string[]
    /** Whether http(s) dataSources may point at loopback, private or link-local addresses. */
    readonly fetchPrivateHosts: boolean
  }
}

export type RawEnv = Readonly<Record<string, string | undefined>>

/** A schema registry's base URL and its HTTP Basic credentials, if it wants them. */
export interface RegistryAccess {
  readonly url: string
  readonly auth: { readonly username: string; readonly password: string } | undefined
}

/**
 * @throws ServiceError('ConfigInvalid') listing every problem as `VARIABLE: message`.
 */
export function loadConfig(env: RawEnv): Config {
  // Empty strings mean "not set", as a shell `FOO=` usually intends.
  const present = Object.fromEntries(
    Object.keys(envSchema.shape).flatMap((name) => {
      const value = env[name]
      return value === undefined || value === '' ? [] : [[name, value]]
    }),
  )
  const parsed = envSchema.safeParse(present)
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues).map((issue) => {
      const name = issue.path.join('.') || '(root)'
      const value = present[String(issue.path[0])]
      // The value helps find a typo; keys and URLs (which may carry a password) are not repeated into logs.
      const shown = value === undefined || /KEY|SECRET|PASSWORD|TOKEN|URL/.test(name) ? '' : ` (got "${value}")`
      return `${name}: ${issue.message}${shown}`
    }),
    ...connectionProblems(present),
    ...groupTimeoutProblems(present),
  ]
  if (!parsed.success || problems.length > 0) {
    throw configInvalid(problems)
  }
  const e = parsed.data
  const kafkaTls = kafkaTlsOn(e.KAFKA_SSL, e.KAFKA_SSL_CA_FILE, e.KAFKA_SSL_CERT_FILE)
    ? {
        caFile: e.KAFKA_SSL_CA_FILE,
        certFile: e.KAFKA_SSL_CERT_FILE,
        keyFile: e.KAFKA_SSL_KEY_FILE,
        keyPassword: e.KAFKA_SSL_KEY_PASSWORD,
        rejectUnauthorized: e.KAFKA_SSL_REJECT_UNAUTHORIZED,
      }
    : undefined
  return deepFreeze({
    serviceName: e.MVAD_SERVICE_NAME,
    http: { host: e.MVAD_HTTP_HOST, port: e.MVAD_HTTP_PORT, trustProxy: e.MVAD_HTTP_TRUST_PROXY },
    logLevel: e.MVAD_LOG_LEVEL,
    shutdownGraceMs: e.MVAD_SHUTDOWN_GRACE_MS,
    startupTimeoutMs: e.MVAD_STARTUP_TIMEOUT_MS,
    kafka: {
      brokers: e.KAFKA_BROKERS,
      clientId: e.KAFKA_CLIENT_ID,
      groupId: e.KAFKA_GROUP_ID,
      tls: kafkaTls,
      sasl:
        e.KAFKA_SASL_MECHANISM === undefined
          ? undefined
          : {
              mechanism: e.KAFKA_SASL_MECHANISM,
              username: e.KAFKA_SASL_USERNAME ?? '',
              password: e.KAFKA_SASL_PASSWORD ?? '',
            },
      groupTimeouts: { sessionTimeout: e.KAFKA_SESSION_TIMEOUT_MS, heartbeatInterval: e.KAFKA_HEARTBEAT_INTERVAL_MS },
      topics: {
        readings: e.MVAD_TOPIC_READINGS,
        events: e.MVAD_TOPIC_EVENTS,
        scores: e.MVAD_TOPIC_SCORES,
        deadLetter: e.MVAD_TOPIC_DLQ,
        control: e.MVAD_TOPIC_CONTROL,
        status: e.MVAD_TOPIC_STATUS,
      },
    },
    redis: { url: e.REDIS_URL, keyPrefix: e.MVAD_REDIS_KEY_PREFIX, tlsCaFile: e.REDIS_TLS_CA_FILE },
    schemaRegistry:
      e.SCHEMA_REGISTRY_URL === undefined
        ? undefined
        : {
            url: e.SCHEMA_REGISTRY_URL,
            auth:
              e.SCHEMA_REGISTRY_USERNAME === undefined
                ? undefined
                : { username: e.SCHEMA_REGISTRY_USERNAME, password: e.SCHEMA_REGISTRY_PASSWORD ?? '' },
          },
    stream: {
      allowedLatenessMs: e.MVAD_ALLOWED_LATENESS_MS,
      frameIdleFlushMs: e.MVAD_FRAME_IDLE_FLUSH_MS,
      maxFutureMs: e.MVAD_MAX_FUTURE_MS,
      topContributorCount: e.MVAD_TOP_CONTRIBUTORS,
      publishScores: e.MVAD_PUBLISH_SCORES,
      readingsStart: e.MVAD_READINGS_START,
      newTopics: { numPartitions: e.MVAD_TOPIC_PARTITIONS, replicationFactor: e.MVAD_TOPIC_REPLICATION_FACTOR },
      windowIdleTtlSeconds: e.MVAD_WINDOW_IDLE_TTL_SECONDS,
    },
    control: {
      enabled: e.MVAD_CONTROL_ENABLED,
      jobConcurrency: e.MVAD_JOB_CONCURRENCY,
      jobLeaseMs: e.MVAD_JOB_LEASE_MS,
      resultTtlSeconds: e.MVAD_RESULT_TTL_SECONDS,
      jobRetentionSeconds: e.MVAD_JOB_RETENTION_SECONDS,
      chartsDir: e.MVAD_CHARTS_DIR,
      fileRoots: e.MVAD_CONTROL_FILE_ROOTS,
    },
    rest: {
      apiKey: e.MVAD_API_KEY,
      bodyLimitBytes: e.MVAD_REST_BODY_LIMIT_BYTES,
      fetchMaxBytes: e.MVAD_REST_FETCH_MAX_BYTES,
      fetchTimeoutMs: e.MVAD_REST_FETCH_TIMEOUT_MS,
      bodyBytesInFlight: e.MVAD_REST_BODY_BYTES_IN_FLIGHT,
      modelCacheBytes: e.MVAD_REST_MODEL_CACHE_BYTES,
      maxHeldDownloads: e.MVAD_REST_MAX_HELD_DOWNLOADS,
      dataDir: e.MVAD_REST_DATA_DIR,
      localRoots: e.MVAD_REST_LOCAL_ROOTS,
      fetchPrivateHosts: e.MVAD_REST_FETCH_PRIVATE_HOSTS,
    },
  })
}

/** The error for configuration problems, each `VARIABLE: message`, all reported together. */
export function configInvalid(problems: readonly string[]): ServiceError {
  return new ServiceError('ConfigInvalid', `Invalid configuration (${problems.length}):\n  ${problems.join('\n  ')}`)
}

/**
 * Settings that only make sense together (credentials with their mechanism, a client certificate with its key, a CA
 * with TLS), checked on the raw values so they are reported with every other problem.
 */
function connectionProblems(present: Readonly<Record<string, string>>): string[] {
  const has = (name: string): boolean => present[name] !== undefined
  const problems: string[] = []
  const needs = (name: string, other: string, why: string): void => {
    if (has(name) && !has(other)) problems.push(`${name}: ${why}`)
  }
  needs('KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME', 'needs KAFKA_SASL_USERNAME')
  needs('KAFKA_SASL_MECHANISM', 'KAFKA_SASL_PASSWORD', 'needs KAFKA_SASL_PASSWORD')
  for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD']) {
    needs(name, 'KAFKA_SASL_MECHANISM', 'is used only with KAFKA_SASL_MECHANISM (plain, scram-sha-256, scram-sha-512)')
  }
  needs('KAFKA_SSL_KEY_PASSWORD', 'KAFKA_SSL_KEY_FILE', 'is the passphrase of KAFKA_SSL_KEY_FILE, which is not set')
  needs('KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE', 'a client certificate needs its key in KAFKA_SSL_KEY_FILE')
  needs('KAFKA_SSL_KEY_FILE', 'KAFKA_SSL_CERT_FILE', 'a client key needs its certificate in KAFKA_SSL_CERT_FILE')
  const tls = kafkaTlsOn(
    /^(true|1)$/.test(present.KAFKA_SSL ?? ''),
    present.KAFKA_SSL_CA_FILE,
    present.KAFKA_SSL_CERT_FILE,
  )
  if (has('KAFKA_SSL_REJECT_UNAUTHORIZED') && !tls) {
    problems.push('KAFKA_SSL_REJECT_UNAUTHORIZED: is used only with TLS (KAFKA_SSL=true or a KAFKA_SSL_* file)')
  }
  if (/^(false|0)$/.test(present.KAFKA_SSL ?? '')) {
    for (const name of ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE']) {
      if (has(name)) problems.push(`${name}: is set while KAFKA_SSL is false; unset one of them`)
    }
  }
  if (has('REDIS_TLS_CA_FILE') && !/^rediss:\/\//.test(present.REDIS_URL ?? '')) {
    problems.push('REDIS_TLS_CA_FILE: is used only with a rediss:// REDIS_URL (Redis over TLS)')
  }
  // fetch refuses a URL with credentials, and its error would repeat the password into /readyz.
  if (urlHasCredentials(present.SCHEMA_REGISTRY_URL)) {
    problems.push(
      'SCHEMA_REGISTRY_URL: holds credentials; give them in SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD',
    )
  }
  needs('SCHEMA_REGISTRY_USERNAME', 'SCHEMA_REGISTRY_PASSWORD', 'needs SCHEMA_REGISTRY_PASSWORD')
  needs('SCHEMA_REGISTRY_PASSWORD', 'SCHEMA_REGISTRY_USERNAME', 'needs SCHEMA_REGISTRY_USERNAME')
  needs('SCHEMA_REGISTRY_USERNAME', 'SCHEMA_REGISTRY_URL', 'is used only with SCHEMA_REGISTRY_URL')
  return problems
}

/** The heartbeat must leave the session room for a late heartbeat or two (Kafka's advice: at most a third). */
function groupTimeoutProblems(present: Readonly<Record<string, string>>): string[] {
  const session = Number(present.KAFKA_SESSION_TIMEOUT_MS ?? DEFAULT_GROUP_TIMEOUTS.sessionTimeout)
  const heartbeat = Number(present.KAFKA_HEARTBEAT_INTERVAL_MS ?? DEFAULT_GROUP_TIMEOUTS.heartbeatInterval)
  // Values that are not numbers are reported by the schema.
  if (!Number.isFinite(session) || !Number.isFinite(heartbeat) || heartbeat * 3 <= session) return []
  return [
    `KAFKA_HEARTBEAT_INTERVAL_MS: must be at most a third of KAFKA_SESSION_TIMEOUT_MS (${session} ms), or one ` +
      `late heartbeat costs the group its member`,
  ]
}

/** TLS to Kafka: asked for, or implied by a CA or client certificate (one rule for the config and its checks). */
function kafkaTlsOn(ssl: boolean, caFile: string | undefined, certFile: string | undefined): boolean {
  return ssl || caFile !== undefined || certFile !== undefined
}

function urlHasCredentials(value: string | undefined): boolean {
  if (value === undefined || !URL.canParse(value.trim())) return false
  const url = new URL(value.trim())
  return url.username !== '' || url.password !== ''
}

/** The variables loadConfig reads, for docs and `--help`. */
export const CONFIG_VARIABLES: readonly string[] = Object.freeze(Object.keys(envSchema.shape))

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
