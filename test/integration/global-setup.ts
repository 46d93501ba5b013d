/**
 * Chooses the integration-test infrastructure, in one place:
 *   1. KAFKA_BROKERS / REDIS_URL / SCHEMA_REGISTRY_URL when set (all three, or the ones set plus 2/3 for the rest);
 *   2. testcontainers (Redpanda for Kafka + registry, Redis) when a Docker daemon answers;
 *   3. the project's own infra/infra.sh (local Kafka, Redis, Apicurio), started here and stopped after if this
 *      setup started them.
 * Then every service is probed; a missing one fails the whole run with a message naming it. Nothing is skipped.
 * The secured listeners (Kafka SASL_SSL, Redis over TLS) come from `infra/infra.sh secure-env` with the local infra,
 * else from the file MVAD_TEST_SECURE_ENV_FILE names (the same KEY=VALUE lines); without either, the tests that need
 * them fail and say so.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import type { TestProject } from 'vitest/node'
import { probeKafka, probeRedis, probeSchemaRegistry } from '../support/probes.js'
import { parseEnvLines } from '../support/secure-env.js'

declare module 'vitest' {
  interface ProvidedContext {
    kafkaBrokers: string
    redisUrl: string
    schemaRegistryUrl: string
    /** Service settings for the secured listeners (KEY=VALUE lines), or '' when this run has none. */
    secureEnv: string
  }
}

const run = promisify(execFile)
const infraScript = new URL('../../infra/infra.sh', import.meta.url).pathname

interface Endpoints {
  kafkaBrokers: string
  redisUrl: string
  schemaRegistryUrl: string
}

type Stop = () => Promise<unknown>

async function dockerAnswers(): Promise<boolean> {
  if (process.env.TEST_INFRA === 'local') return false
  try {
    const { getContainerRuntimeClient } = await import('testcontainers')
    await getContainerRuntimeClient()
    return true
  } catch (error) {
    if (process.env.TEST_INFRA === 'containers') throw error
    return false
  }
}

async function startContainers(stops: Stop[]): Promise<Endpoints> {
  const { RedpandaContainer } = await import('@testcontainers/redpanda')
  const { RedisContainer } = await import('@testcontainers/redis')
  const redpanda = await new RedpandaContainer('docker.redpanda.com/redpandadata/redpanda:v24.3.7').start()
  stops.push(() => redpanda.stop())
  const redis = await new RedisContainer('redis:7.4').start()
  stops.push(() => redis.stop())
  return {
    kafkaBrokers: process.env.KAFKA_BROKERS ?? redpanda.getBootstrapServers(),
    redisUrl: process.env.REDIS_URL ?? redis.getConnectionUrl(),
    schemaRegistryUrl: process.env.SCHEMA_REGISTRY_URL ?? redpanda.getSchemaRegistryAddress(),
  }
}

async function startLocalInfra(stops: Stop[]): Promise<Endpoints> {
  const alreadyUp = await run('bash', [infraScript, 'status']).then(
    () => true,
    () => false,
  )
  const { stdout, stderr } = await run('bash', [infraScript, 'up'], { maxBuffer: 1 << 20 }).catch(
    (error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `infra/infra.sh up failed; local Kafka/Redis/registry could not start:\n${error.stderr ?? error.message}`,
      )
    },
  )
  process.stderr.write(stderr)
  if (!alreadyUp) stops.push(() => run('bash', [infraScript, 'down']))
  const env = parseEnvLines(stdout)
  const pick = (name: string): string => {
    const value = env[name]
    if (!value) throw new Error(`infra/infra.sh up printed no ${name}`)
    return value
  }
  return {
    kafkaBrokers: pick('KAFKA_BROKERS'),
    redisUrl: pick('REDIS_URL'),
    schemaRegistryUrl: pick('SCHEMA_REGISTRY_URL'),
  }
}

async function secureEnv(localInfra: boolean): Promise<string> {
  const file = process.env.MVAD_TEST_SECURE_ENV_FILE
  if (file) return readFileSync(file, 'utf8')
  if (!localInfra) return ''
  // Refused when KAFKA_BROKERS or REDIS_URL names a server of the caller's: the secured tests then say what is missing.
  return run('bash', [infraScript, 'secure-env']).then(
    ({ stdout }) => stdout,
    () => '',
  )
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: Stop[] = []
  const allConfigured = Boolean(process.env.KAFKA_BROKERS && process.env.REDIS_URL && process.env.SCHEMA_REGISTRY_URL)
  let source: string
  let endpoints: Endpoints
  if (allConfigured) {
    source = 'environment (KAFKA_BROKERS, REDIS_URL, SCHEMA_REGISTRY_URL)'
    endpoints = {
      kafkaBrokers: process.env.KAFKA_BROKERS ?? '',
      redisUrl: process.env.REDIS_URL ?? '',
      schemaRegistryUrl: process.env.SCHEMA_REGISTRY_URL ?? '',
    }
  } else if (await dockerAnswers()) {
    source = 'testcontainers'
    endpoints = await startContainers(stops)
  } else {
    source = 'local infra/infra.sh'
    endpoints = await startLocalInfra(stops)
  }
  process.stderr.write(
    `[integration] infrastructure from ${source}: kafka=${endpoints.kafkaBrokers} redis=${endpoints.redisUrl} ` +
      `registry=${endpoints.schemaRegistryUrl}\n`,
  )
  const problems = (
    await Promise.all([
      probeKafka(endpoints.kafkaBrokers),
      probeRedis(endpoints.redisUrl),
      probeSchemaRegistry(endpoints.schemaRegistryUrl),
    ])
  ).filter((problem): problem is string => problem !== null)
  if (problems.length > 0) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined)
    throw new Error(`Integration infrastructure is not usable:\n  - ${problems.join('\n  - ')}`)
  }
  project.provide('kafkaBrokers', endpoints.kafkaBrokers)
  project.provide('redisUrl', endpoints.redisUrl)
  project.provide('schemaRegistryUrl', endpoints.schemaRegistryUrl)
  project.provide('secureEnv', await secureEnv(source === 'local infra/infra.sh'))
  return async () => {
    for (const stop of stops.reverse()) await stop()
  }
}
