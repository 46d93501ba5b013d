/**
 * Kafka for the CLI's stream tools (`simulate`, `events`, `submit`): the service's own settings (KAFKA_BROKERS,
 * MVAD_TOPIC_*), and errors a shell user can act on. The service creates its topics and brokers refuse to create
 * them on demand, so a tool run before the service's first start, or with a mistyped topic variable, would otherwise
 * end in a kafkajs stack trace reported as a bug (or, for a consumer, wait for ever).
 */
import type { KafkaMessage, Kafka, Producer } from 'kafkajs'
import { logLevel } from 'kafkajs'
import { loadConfig, type RawEnv, type RegistryAccess } from '../config/config.js'
import { ServiceError } from '../errors.js'
import { createKafka } from '../kafka/client.js'
import { clientOptions } from '../connections.js'

export interface CliKafka {
  kafka: Kafka
  config: ReturnType<typeof loadConfig>
  /** The registry the service uses (URL and credentials), when it has one. */
  registry: RegistryAccess | undefined
}

export function cliKafka(env: RawEnv, clientId: string): CliKafka {
  const config = loadConfig(env)
  const clients = clientOptions(config)
  return {
    config,
    registry: clients.registry,
    kafka: createKafka({
      clientId,
      ...clients.kafka,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
    }),
  }
}

function unreachable({ config }: CliKafka, error: unknown): ServiceError {
  const brokers = config.kafka.brokers.join(',')
  // Refused credentials or ACLs are not a server to start: say what Kafka answered.
  const refused = error instanceof Error && /SASL|Authenticat|Authoriz|ACL/i.test(`${error.name} ${error.message}`)
  return new ServiceError(
    'KafkaError',
    refused
      ? `Kafka at ${brokers} refused the request: ${String(error)}`
      : `cannot reach Kafka at ${brokers} (set KAFKA_BROKERS; start local servers with npm run infra:up): ${String(error)}`,
    { cause: error },
  )
}

/**
 * Fails with a clear KafkaError unless `topic` exists. `variable` names the setting that chose it (e.g.
 * MVAD_TOPIC_READINGS), for the message.
 */
export async function requireTopic(access: CliKafka, topic: string, variable: string): Promise<void> {
  const admin = access.kafka.admin()
  let topics: string[]
  try {
    await admin.connect()
    topics = await admin.listTopics()
  } catch (error) {
    throw unreachable(access, error)
  } finally {
    await admin.disconnect().catch(() => undefined)
  }
  if (!topics.includes(topic)) {
    throw new ServiceError(
      'KafkaError',
      `topic ${topic} (${variable}) does not exist on Kafka at ${access.config.kafka.brokers.join(',')}: the ` +
        `service creates its topics when it starts, so start it once first, or check ${variable}`,
    )
  }
}

/** A connected producer for `topic`, which must exist. */
export async function producerFor(access: CliKafka, topic: string, variable: string): Promise<Producer> {
  await requireTopic(access, topic, variable)
  const producer = access.kafka.producer({ allowAutoTopicCreation: false })
  try {
    await producer.connect()
  } catch (error) {
    throw unreachable(access, error)
  }
  return producer
}

export interface ConsumeOptions {
  fromBeginning?: boolean
  /** Stop after this many messages. */
  max?: number
  /** Stop after this many seconds without a new message. */
  idle?: number
}

/**
 * Reads `topic` (which must exist: a consumer of a missing topic waits for it for ever, whatever --idle says) with a
 * throwaway group, handing each message to `onMessage` until `max` messages or `idle` seconds without one; returns
 * how many were handed over. Messages after the max in a fetched batch are skipped while the consumer stops.
 */
export async function consumeTopic(
  access: CliKafka,
  topic: { name: string; variable: string },
  opts: ConsumeOptions,
  onMessage: (message: KafkaMessage, partition: number) => Promise<void> | void,
): Promise<number> {
  await requireTopic(access, topic.name, topic.variable)
  const consumer = access.kafka.consumer({ groupId: `mvad-cli-${process.pid}-${Date.now()}` })
  let count = 0
  // The idle clock starts when the group is joined: a broker may hold a new group back a few seconds
  // (group.initial.rebalance.delay.ms), and --idle 1 must not end before the first fetch.
  let joined = false
  let last = Date.now()
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true
    last = Date.now()
  })
  const max = opts.max ?? Number.POSITIVE_INFINITY
  const idleMs = (opts.idle ?? Number.POSITIVE_INFINITY) * 1000
  try {
    try {
      await consumer.connect()
      await consumer.subscribe({ topic: topic.name, fromBeginning: opts.fromBeginning ?? false })
    } catch (error) {
      throw unreachable(access, error)
    }
    await consumer.run({
      autoCommit: false, // a throwaway group: nothing to resume
      eachMessage: async ({ message, partition }) => {
        if (count >= max) return
        last = Date.now()
        count++
        await onMessage(message, partition)
      },
    })
    const joinBy = Date.now() + JOIN_TIMEOUT_MS
    for (;;) {
      if (count >= max || (joined && Date.now() - last >= idleMs)) break
      if (!joined && Date.now() > joinBy)
        throw new ServiceError(
          'KafkaError',
          `could not join a consumer group on ${topic.name} within ${JOIN_TIMEOUT_MS / 1000} s`,
        )
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  } finally {
    await consumer.disconnect().catch(() => undefined)
  }
  return count
}

/** How long a tool waits for its throwaway consumer group to be joined. */
const JOIN_TIMEOUT_MS = 60_000
