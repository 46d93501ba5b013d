/**
 * `mvad simulate` streams a CSV's rows to the readings topic as per-variable readings (key = entity), paced;
 * `mvad events` prints anomaly events from the events topic as they arrive. Kafka and topics come from the same
 * variables as the service (KAFKA_BROKERS, MVAD_TOPIC_READINGS, MVAD_TOPIC_EVENTS; see docs/config.md).
 */
import type { RawEnv } from '../../config/config.js'
import { alignTable } from '../../data/align.js'
import { readTable } from '../../data/files.js'
import type { AnomalyEvent } from '../../stream/anomaly-event.js'
import { isoTimestamp } from '../../stream/anomaly-event.js'
import { isRegistryEncoded } from '../../stream/reading-codec.js'
import { RegistryCodec } from '../../stream/registry-codec.js'
import { cliKafka, producerFor, requireTopic } from '../kafka-access.js'
import type { CliContext } from './context.js'

export interface SimulateOptions {
  input: string
  entity: string
  /** Rows (timestamps) per second; 0 = as fast as possible. */
  rate?: number
  /** Send each row as one frame message instead of one message per variable. */
  frames?: boolean
}

export async function simulateCommand(opts: SimulateOptions, ctx: CliContext, env: RawEnv): Promise<void> {
  const series = alignTable(await readTable(opts.input))
  const access = cliKafka(env, 'mvad-simulate')
  const { config } = access
  const producer = await producerFor(access, config.kafka.topics.readings, 'MVAD_TOPIC_READINGS')
  const rate = opts.rate ?? 0
  const batchRows = rate > 0 ? Math.max(1, Math.ceil(rate / 20)) : 500
  const started = performance.now()
  let sent = 0
  try {
    for (let i = 0; i < series.rows.length; i += batchRows) {
      const messages = series.rows.slice(i, i + batchRows).flatMap((row, k) => {
        const timestamp = isoTimestamp(series.timestamps[i + k] as number)
        if (opts.frames === true) {
          const values = Object.fromEntries(series.variables.map((v, j) => [v, row[j] as number]))
          return [{ key: opts.entity, value: JSON.stringify({ timestamp, values }) }]
        }
        return series.variables.map((variable, j) => ({
          key: opts.entity,
          value: JSON.stringify({ variable, timestamp, value: row[j] as number }),
        }))
      })
      await producer.send({ topic: config.kafka.topics.readings, acks: -1, messages })
      sent += messages.length
      if (rate > 0) {
        const due = ((i + batchRows) / rate) * 1000 - (performance.now() - started)
        if (due > 0) await new Promise((resolve) => setTimeout(resolve, due))
      }
    }
  } finally {
    await producer.disconnect()
  }
  const seconds = (performance.now() - started) / 1000
  ctx.stdout.write(
    `sent ${sent} messages (${series.rows.length} rows × ${series.variables.length} variables) for entity ${opts.entity} ` +
      `to ${config.kafka.topics.readings} in ${seconds.toFixed(1)} s\n`,
  )
}

export interface EventsOptions {
  fromBeginning?: boolean
  /** Stop after this many events. */
  max?: number
  /** Stop after this many seconds without a new event. */
  idle?: number
}

export async function eventsCommand(opts: EventsOptions, ctx: CliContext, env: RawEnv): Promise<void> {
  const access = cliKafka(env, 'mvad-events')
  const { kafka, config } = access
  // A consumer of a missing topic waits for it for ever, whatever --idle says.
  await requireTopic(access, config.kafka.topics.events, 'MVAD_TOPIC_EVENTS')
  const consumer = kafka.consumer({ groupId: `mvad-events-${process.pid}-${Date.now()}` })
  let count = 0
  let last = Date.now()
  await consumer.connect()
  await consumer.subscribe({ topic: config.kafka.topics.events, fromBeginning: opts.fromBeginning ?? false })
  // Events are Avro (Confluent wire format) when the service has a registry, JSON otherwise.
  const registry = config.schemaRegistryUrl === undefined ? undefined : new RegistryCodec(config.schemaRegistryUrl)
  const max = opts.max ?? Number.POSITIVE_INFINITY
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (count >= max) return // the rest of a fetched batch, while the consumer disconnects
      last = Date.now()
      count++
      const value = message.value ?? Buffer.alloc(0)
      let event: AnomalyEvent
      try {
        if (isRegistryEncoded(value)) {
          if (registry === undefined) {
            ctx.stdout.write(`(registry-encoded event, ${value.length} bytes: set SCHEMA_REGISTRY_URL to decode it)\n`)
            return
          }
          const decoded = (await registry.decode(value)) as Omit<AnomalyEvent, 'timestamp'> & { timestamp: number }
          event = { ...decoded, timestamp: isoTimestamp(decoded.timestamp) }
        } else {
          event = JSON.parse(value.toString('utf8')) as AnomalyEvent
        }
      } catch (error) {
        ctx.stdout.write(`(undecodable event, ${value.length} bytes: ${(error as Error).message})\n`)
        return
      }
      const top = event.interpretation
        .slice(0, 3)
        .map((c) => `${c.variable} ${(c.contributionScore * 100).toFixed(0)}%`)
        .join(', ')
      ctx.stdout.write(
        `${event.timestamp}  ${event.entity}  severity ${event.severity.toFixed(2)}  score ${event.score.toFixed(3)}  ` +
          `model ${event.modelId}@v${event.modelVersion}  top: ${top}\n`,
      )
    },
  })
  const idleMs = (opts.idle ?? Number.POSITIVE_INFINITY) * 1000
  while (count < max && Date.now() - last < idleMs) {
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  await consumer.disconnect()
  ctx.stdout.write(`${count} anomaly events\n`)
}
