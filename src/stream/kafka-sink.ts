/**
 * Kafka output of the partition workers: anomaly events (events topic), every score (scores topic, optional) and
 * dead letters (original key and bytes + reason headers). One sendBatch per worker batch, acks from all in-sync
 * replicas; the worker only commits after this resolves.
 */
import type { Producer, Message } from 'kafkajs'
import type { DeadLetter, OutgoingEvent, WorkerSink } from './partition-worker.js'
import type { RegistryCodec } from './registry-codec.js'
import { boundedDetail, partitionedIfLongKey, sendFitting } from '../kafka/dead-letter.js'

export interface KafkaSinkTopics {
  events: string
  scores: string
  deadLetter: string
  sourceReadings: string
}

export interface SinkObserver {
  published(kind: 'events' | 'scores' | 'dead_letters', count: number): void
  deadLetter(reason: string, detail: string, key: string | null): void
  /** Dead letters sent without their original bytes, the broker having refused them as too large. */
  deadLetterValuesDropped?(count: number): void
}

export class KafkaSink implements WorkerSink {
  readonly #producer: Producer
  readonly #topics: KafkaSinkTopics
  readonly #publishScores: boolean
  readonly #registry: RegistryCodec | undefined
  readonly #partition: number
  readonly #observer: SinkObserver | undefined

  constructor(deps: {
    producer: Producer
    topics: KafkaSinkTopics
    publishScores: boolean
    registry?: RegistryCodec
    sourcePartition: number
    observer?: SinkObserver
  }) {
    this.#producer = deps.producer
    this.#topics = deps.topics
    this.#publishScores = deps.publishScores
    this.#registry = deps.registry
    this.#partition = deps.sourcePartition
    this.#observer = deps.observer
  }

  async publish(events: readonly OutgoingEvent[], deadLetters: readonly DeadLetter[]): Promise<void> {
    const eventMessages: Message[] = []
    const scoreMessages: Message[] = []
    for (const { entity, event, isAnomaly } of events) {
      const message = await this.#encode(entity, event)
      if (isAnomaly) eventMessages.push(message)
      if (this.#publishScores) scoreMessages.push(message)
    }
    const deadLetterMessages: Message[] = deadLetters.map((letter) =>
      partitionedIfLongKey({
        key: letter.message.key,
        value: letter.message.value,
        headers: {
          'mvad-dlq-reason': letter.reason,
          'mvad-dlq-detail': boundedDetail(letter.detail),
          'mvad-source-topic': this.#topics.sourceReadings,
          'mvad-source-partition': String(this.#partition),
          'mvad-source-offset': letter.message.offset.toString(),
          // The value is not the original record (which may have been a frame, or Avro): see InputMessage.rebuilt.
          ...(letter.message.rebuilt === true ? { 'mvad-dlq-rebuilt': 'true' } : {}),
        },
      }),
    )
    const topicMessages = [
      { topic: this.#topics.events, messages: eventMessages },
      { topic: this.#topics.scores, messages: scoreMessages },
      { topic: this.#topics.deadLetter, messages: deadLetterMessages },
    ].filter((t) => t.messages.length > 0)
    if (topicMessages.length === 0) return
    const { valuesDropped } = await sendFitting(
      topicMessages,
      (group) => group.topic === this.#topics.deadLetter,
      (groups) => this.#producer.sendBatch({ topicMessages: groups, acks: -1 }),
    )
    if (valuesDropped > 0) this.#observer?.deadLetterValuesDropped?.(valuesDropped)
    this.#observer?.published('events', eventMessages.length)
    this.#observer?.published('scores', scoreMessages.length)
    this.#observer?.published('dead_letters', deadLetterMessages.length)
    for (const letter of deadLetters)
      this.#observer?.deadLetter(letter.reason, letter.detail, letter.message.key?.toString('utf8') ?? null)
  }

  async #encode(entity: string, event: OutgoingEvent['event']): Promise<Message> {
    // Shadow events say so in a header too, so alerting consumers can skip them without decoding the value.
    const shadow = event.shadow === true ? { 'mvad-shadow': 'true' } : {}
    if (this.#registry !== undefined) {
      return {
        key: entity,
        value: await this.#registry.encodeEvent(event),
        headers: {
          'content-type': 'application/vnd.apache.avro+binary',
          'mvad-schema': 'anomaly-event.v1',
          'mvad-schema-id': String(this.#registry.eventSchemaId),
          ...shadow,
        },
      }
    }
    return {
      key: entity,
      value: JSON.stringify(event),
      headers: { 'content-type': 'application/json', 'mvad-schema': 'anomaly-event.v1', ...shadow },
    }
  }
}
