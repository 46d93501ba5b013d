import { randomBytes } from 'node:crypto'

/** A prefix unique to one test, for topics, consumer groups and Redis keys, so tests never see each other's data. */
export function uniquePrefix(label: string): string {
  return `t-${label}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
}

/**
 * Environment that gives one test its own Redis keys, consumer group and topics (all under `prefix`), in the
 * variable names of src/config. Spread it into the rest of a test's config; override a topic after it if needed.
 */
export function isolatedEnv(prefix: string): Record<string, string> {
  return {
    MVAD_REDIS_KEY_PREFIX: prefix,
    KAFKA_GROUP_ID: `${prefix}.group`,
    MVAD_TOPIC_READINGS: `${prefix}.readings`,
    MVAD_TOPIC_EVENTS: `${prefix}.events`,
    MVAD_TOPIC_SCORES: `${prefix}.scores`,
    MVAD_TOPIC_DLQ: `${prefix}.dlq`,
    MVAD_TOPIC_CONTROL: `${prefix}.control`,
    MVAD_TOPIC_STATUS: `${prefix}.status`,
  }
}
