/**
 * The topics the service needs are created when missing (brokers here refuse to create them on demand), with the
 * partitions and replication factor of the config. One place for the stream's and the control plane's topics.
 */
import type { Admin, ITopicConfig, Kafka } from 'kafkajs'
import { ServiceError } from '../errors.js'

export interface NewTopicSettings {
  readonly numPartitions: number
  /** undefined: the broker's `default.replication.factor` (1 unless the cluster sets it). */
  readonly replicationFactor: number | undefined
}

/** Creates those of `topics` that do not exist yet; returns the ones it created. */
export async function ensureTopics(
  kafka: Kafka,
  topics: readonly string[],
  settings: NewTopicSettings,
): Promise<string[]> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const existing = new Set(await admin.listTopics())
    const missing = topics.filter((topic) => !existing.has(topic))
    if (missing.length === 0) return []
    try {
      await createTopicsAndWait(
        admin,
        missing.map((topic) => ({
          topic,
          numPartitions: settings.numPartitions,
          ...(settings.replicationFactor === undefined ? {} : { replicationFactor: settings.replicationFactor }),
        })),
      )
    } catch (error) {
      // A replication factor over the number of brokers, or ACLs without Create: say which setting and topics.
      throw new ServiceError(
        'KafkaError',
        `cannot create topics ${missing.join(', ')} (${settings.numPartitions} partitions, MVAD_TOPIC_PARTITIONS; ` +
          `replication factor ${settings.replicationFactor ?? "the broker's default"}, MVAD_TOPIC_REPLICATION_FACTOR): ` +
          `${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      )
    }
    return missing
  } finally {
    await admin.disconnect()
  }
}

/**
 * Creates topics, then waits until every partition has a leader. kafkajs's own wait (`waitForLeaders`) retries only
 * LEADER_NOT_AVAILABLE, while a KRaft broker may first answer UNKNOWN_TOPIC_OR_PARTITION for a topic it has just
 * created (its metadata not yet everywhere): seen once in CI, where it failed the caller.
 */
export async function createTopicsAndWait(admin: Admin, topics: ITopicConfig[], timeoutMs = 15_000): Promise<void> {
  await admin.createTopics({ topics, waitForLeaders: false })
  const names = topics.map((t) => t.topic)
  const deadline = Date.now() + timeoutMs
  for (;;) {
    let reason: string
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: names })
      const leaderless = metadata.topics.filter(
        (t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0),
      )
      if (leaderless.length === 0) return
      reason = `no leader yet for ${leaderless.map((t) => t.name).join(', ')}`
    } catch (error) {
      if ((error as { retriable?: unknown }).retriable !== true) throw error
      reason = error instanceof Error ? error.message : String(error)
    }
    if (Date.now() >= deadline) {
      throw new ServiceError(
        'KafkaError',
        `topics ${names.join(', ')} were created but not ready in ${timeoutMs} ms: ${reason}`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
