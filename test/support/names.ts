import { randomBytes } from 'node:crypto'

/** A prefix unique to one test, for topics, consumer groups and Redis keys, so tests never see each other's data. */
export function uniquePrefix(label: string): string {
  return `t-${label}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
}

/** The service's topics for one test, all under `prefix`. */
export function topicNames(
  prefix: string,
): Record<'readings' | 'events' | 'scores' | 'dlq' | 'control' | 'status', string> {
  return {
    readings: `${prefix}.readings`,
    events: `${prefix}.events`,
    scores: `${prefix}.scores`,
    dlq: `${prefix}.dlq`,
    control: `${prefix}.control`,
    status: `${prefix}.status`,
  }
}

/**
 * Environment that gives one test its own Redis keys, consumer group and topics (topicNames), in the variable
 * names of src/config. Spread it into the rest of a test's config.
 */
export function isolatedEnv(prefix: string): Record<string, string> {
  const topics = topicNames(prefix)
  return {
    MVAD_REDIS_KEY_PREFIX: prefix,
    KAFKA_GROUP_ID: `${prefix}.group`,
    MVAD_TOPIC_READINGS: topics.readings,
    MVAD_TOPIC_EVENTS: topics.events,
    MVAD_TOPIC_SCORES: topics.scores,
    MVAD_TOPIC_DLQ: topics.dlq,
    MVAD_TOPIC_CONTROL: topics.control,
    MVAD_TOPIC_STATUS: topics.status,
  }
}
