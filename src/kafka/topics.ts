/**
 * The topics the service needs are created when missing (brokers here refuse to create them on demand), with the
 * partitions and replication factor of the config. One place for the stream's and the control plane's topics.
 */
import type { Kafka } from 'kafkajs'
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
      await admin.createTopics({
        topics: missing.map((topic) => ({
          topic,
          numPartitions: settings.numPartitions,
          ...(settings.replicationFactor === undefined ? {} : { replicationFactor: settings.replicationFactor }),
        })),
        waitForLeaders: true,
      })
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
