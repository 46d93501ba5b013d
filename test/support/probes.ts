/**
 * Readiness probes for the three servers the integration tests need. Each returns null when the service answers,
 * or a sentence naming the service, its address and what went wrong.
 */
import { logLevel } from 'kafkajs'
import { createKafka } from '../../src/kafka/client.js'
import { Redis } from 'ioredis'

export async function probeKafka(brokers: string, timeoutMs = 15_000): Promise<string | null> {
  const kafka = createKafka({
    clientId: 'mvad-probe',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    retry: { retries: 3, initialRetryTime: 300 },
  })
  const admin = kafka.admin()
  try {
    await withTimeout(admin.connect(), timeoutMs, 'connect')
    const cluster = await withTimeout(admin.describeCluster(), timeoutMs, 'describeCluster')
    return cluster.brokers.length > 0 ? null : `Kafka at ${brokers} reports no brokers`
  } catch (error) {
    return `Kafka at ${brokers} is not reachable: ${describe(error)}`
  } finally {
    await admin.disconnect().catch(() => undefined)
  }
}

export async function probeRedis(url: string): Promise<string | null> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  redis.on('error', () => undefined)
  try {
    await redis.connect()
    const pong = await redis.ping()
    return pong === 'PONG' ? null : `Redis at ${url} did not answer PONG to PING`
  } catch (error) {
    return `Redis at ${url} is not reachable: ${describe(error)}`
  } finally {
    redis.disconnect()
  }
}

export async function probeSchemaRegistry(url: string): Promise<string | null> {
  try {
    const response = await fetch(`${url.replace(/\/$/, '')}/subjects`, { signal: AbortSignal.timeout(5_000) })
    if (!response.ok) return `Schema registry at ${url} answered HTTP ${response.status} to GET /subjects`
    const body: unknown = await response.json()
    return Array.isArray(body) ? null : `Schema registry at ${url} answered GET /subjects with a non-list`
  } catch (error) {
    return `Schema registry at ${url} is not reachable: ${describe(error)}`
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : ''
    return `${error.message}${cause}`
  }
  return String(error)
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}
