/** What the benchmark scripts share: percentiles, polling, and the scoring stream as the service builds it. */
import type { Kafka } from 'kafkajs'
import type { Redis } from 'ioredis'
import { createLogger } from '../src/observability/logger.js'
import type { KeySpace } from '../src/state/keys.js'
import type { RedisBindingStore } from '../src/state/redis-binding-store.js'
import type { RedisModelStore } from '../src/state/redis-model-store.js'
import { RedisWindowStore } from '../src/state/redis-window-store.js'
import { loadCoreModel } from '../src/stream/core-model-loader.js'
import { ModelResolver } from '../src/stream/model-runtime.js'
import { StreamService } from '../src/stream/stream-service.js'

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN
}

export async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A StreamService on Redis windows with the detection core, publishing every score (as the benchmarks need). */
export function benchStreamService(deps: {
  kafka: Kafka
  redis: Redis
  keys: KeySpace
  bindings: RedisBindingStore
  models: RedisModelStore
  prefix: string
  topics: { readings: string; events: string; scores: string; deadLetter: string }
  partitions: number
}): StreamService {
  return new StreamService({
    kafka: deps.kafka,
    windows: new RedisWindowStore(deps.redis, deps.keys, { idleTtlSeconds: 3600 }),
    bindings: deps.bindings,
    models: new ModelResolver(deps.bindings, deps.models, loadCoreModel),
    logger: createLogger({ serviceName: deps.prefix, level: process.env.BENCH_LOG_LEVEL ?? 'warn' }),
    options: {
      groupId: `${deps.prefix}.service`,
      topics: deps.topics,
      allowedLatenessMs: 0,
      topContributorCount: 10,
      publishScores: true,
      newTopics: { numPartitions: deps.partitions, replicationFactor: undefined },
    },
  })
}
