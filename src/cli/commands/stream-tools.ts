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
import { cliKafka, consumeTopic, producerFor, type ConsumeOptions } from '../kafka-access.js'
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

/** `events` and `dead-letters`: where to start, and when to stop (after max messages, or idle seconds without one). */
export type EventsOptions = ConsumeOptions

export async function eventsCommand(opts: EventsOptions, ctx: CliContext, env: RawEnv): Promise<void> {
  const access = cliKafka(env, 'mvad-events')
  const { config } = access
  // Events are Avro (Confluent wire format) when the service has a registry, JSON otherwise.
  const registry = access.registry === undefined ? undefined : new RegistryCodec(access.registry)
  const topic = { name: config.kafka.topics.events, variable: 'MVAD_TOPIC_EVENTS' }
  const count = await consumeTopic(access, topic, opts, async (message) => {
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
  })
  ctx.stdout.write(`${count} anomaly events\n`)
}

/**
 * `mvad dead-letters`: what the service refused and why, one JSON object per line (jq-friendly): reason, detail,
 * where the original is (source topic, partition, offset), key and value (UTF-8 text, or base64 when it is not text).
 */
export async function deadLettersCommand(opts: EventsOptions, ctx: CliContext, env: RawEnv): Promise<void> {
  const access = cliKafka(env, 'mvad-dead-letters')
  const topic = { name: access.config.kafka.topics.deadLetter, variable: 'MVAD_TOPIC_DLQ' }
  const count = await consumeTopic(access, topic, opts, (message, partition) => {
    const header = (name: string): string | undefined => message.headers?.[name]?.toString()
    const value = message.value
    const text = value === null ? null : value.toString('utf8')
    const isText = text !== null && Buffer.from(text, 'utf8').equals(value as Buffer)
    const line = {
      reason: header('mvad-dlq-reason') ?? null,
      detail: header('mvad-dlq-detail') ?? null,
      source: {
        topic: header('mvad-source-topic') ?? null,
        partition: header('mvad-source-partition') === undefined ? null : Number(header('mvad-source-partition')),
        offset: header('mvad-source-offset') ?? null,
      },
      key: message.key?.toString('utf8') ?? null,
      ...(value === null
        ? { value: null }
        : isText
          ? { value: text }
          : { value: value.toString('base64'), valueEncoding: 'base64' }),
      ...(header('mvad-dlq-value-dropped') === undefined ? {} : { valueDropped: header('mvad-dlq-value-dropped') }),
      deadLetteredAt: new Date(Number(message.timestamp)).toISOString(),
      at: { partition, offset: message.offset },
    }
    ctx.stdout.write(`${JSON.stringify(line)}\n`)
  })
  ctx.stderr.write(`${count} dead letters\n`)
}
