/**
 * The service as the integration tests run it in-process: on the test's Kafka and Redis, with its topics, group and
 * keys under `prefix` (isolatedEnv), one partition per topic, HTTP on a free loopback port, silent logs; `env` on top.
 */
import { inject } from 'vitest'
import { createApp, type App } from '../../src/app.js'
import { loadConfig } from '../../src/config/config.js'
import { createLogger } from '../../src/observability/logger.js'
import { createMetrics } from '../../src/observability/metrics.js'
import { loadCoreModel } from '../../src/stream/core-model-loader.js'
import { isolatedEnv } from './names.js'

/** The settings testApp starts from (children started as processes take them too). */
export function testEnv(prefix: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    KAFKA_BROKERS: inject('kafkaBrokers'),
    REDIS_URL: inject('redisUrl'),
    ...isolatedEnv(prefix),
    MVAD_TOPIC_PARTITIONS: '1',
    MVAD_HTTP_HOST: '127.0.0.1',
    MVAD_HTTP_PORT: '0',
    ...env,
  }
}

export function testApp(prefix: string, env: Record<string, string> = {}): App {
  return createApp({
    config: loadConfig(testEnv(prefix, env)),
    logger: createLogger({ serviceName: 'it', level: 'silent' }),
    metrics: createMetrics({ serviceName: 'it', version: 'test', collectDefaults: false }),
    loadModel: loadCoreModel,
  })
}
