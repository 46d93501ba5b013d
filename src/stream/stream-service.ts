/**
 * The scoring stream: one Kafka consumer group on the readings topic; one PartitionWorker per assigned partition.
 * For each batch: worker.processBatch (see its header for the order of work) → commit the returned offset →
 * heartbeat. Binding changes (Redis pub/sub) make every worker forget the entity so the next frame reloads.
 * Partitions taken away in a rebalance drop their workers: the new owner resumes from Redis and the committed offset.
 */
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs'
import { isServiceError } from '../errors.js'
import type { Logger } from '../observability/logger.js'
import type { StreamMetrics } from '../observability/stream-metrics.js'
import { workerObserver } from '../observability/stream-metrics.js'
import type { BindingStore } from '../state/binding-store.js'
import type { WindowStore } from '../state/window-store.js'
import { ConsumerSupervisor, DEFAULT_GROUP_TIMEOUTS, type GroupTimeouts } from './consumer-supervisor.js'
import { KafkaSink } from './kafka-sink.js'
import { DeadLetterLog } from './dead-letter-log.js'
import type { ModelResolver } from './model-runtime.js'
import { PartitionWorker, type InputMessage } from './partition-worker.js'
import type { DecodeResult } from './reading-codec.js'
import { decodeReadingPayload, type RegistryCodec } from './registry-codec.js'
import { ensureTopics, type NewTopicSettings } from '../kafka/topics.js'
import { GroupOffsets, readingsLag } from './group-offsets.js'

export interface StreamServiceOptions {
  groupId: string
  topics: { readings: string; events: string; scores: string; deadLetter: string }
  allowedLatenessMs: number
  /** See PartitionWorkerOptions.frameIdleFlushMs. @defaultValue 0 (wait) */
  frameIdleFlushMs?: number
  /** See PartitionWorkerOptions.maxFutureMs. @defaultValue 0 (no check) */
  maxFutureMs?: number
  topContributorCount: number
  publishScores: boolean
  /** How the topics the service creates when missing are made. */
  newTopics: NewTopicSettings
  /** The consumer's group session and heartbeat (ms). @defaultValue 30,000 and 3,000 */
  groupTimeouts?: GroupTimeouts
  /** Where a group with no committed offset starts: the oldest retained reading, or only new ones. @defaultValue earliest */
  readingsStart?: 'earliest' | 'latest'
  /** How often the lag gauge is refreshed from the broker between batches (ms). @defaultValue 15,000 */
  lagRefreshMs?: number
}

export interface StreamServiceDeps {
  kafka: Kafka
  windows: WindowStore
  bindings: BindingStore
  models: ModelResolver
  registry?: RegistryCodec
  metrics?: StreamMetrics
  logger: Logger
  options: StreamServiceOptions
  /** Told each time the supervisor restarts the consumer (metrics). */
  onConsumerRestart?: () => void
}

export class StreamService {
  readonly #deps: StreamServiceDeps
  readonly #workers = new Map<number, PartitionWorker>()
  #consumer: Consumer | undefined
  #producer: Producer | undefined
  #unsubscribe: (() => Promise<void>) | undefined
  #joined = false
  #assigned: number[] = []
  #supervisor: ConsumerSupervisor | undefined
  /** Partitions whose stored progress was compared with Kafka's commit since they were assigned or Redis returned. */
  readonly #progressChecked = new Set<number>()
  /** Redis lost the service's data (state/store-marker.ts): readings wait in Kafka instead of being dead-lettered. */
  #storeLost = false
  /** One warning a minute at most about dead letters: how many by reason, and an example of each. */
  readonly #deadLetterLog: DeadLetterLog
  #deadLetterTimer: NodeJS.Timeout | undefined
  readonly #offsets: GroupOffsets
  /** Per owned partition, the offset after the last batch processed since the group join (for the lag gauge). */
  readonly #processedNext = new Map<number, bigint>()
  #lagTimer: NodeJS.Timeout | undefined
  #lagRefreshing = false

  constructor(deps: StreamServiceDeps) {
    this.#deps = deps
    this.#offsets = new GroupOffsets(deps.kafka, deps.options.groupId, deps.options.topics.readings)
    this.#deadLetterLog = new DeadLetterLog((summary) =>
      deps.logger.warn(
        summary,
        'records dead-lettered (mvad dead-letters shows them all; docs/streaming.md lists the reasons)',
      ),
    )
  }

  /** True once the consumer joined its group and is fetching. */
  get isConsuming(): boolean {
    return this.#joined && this.#supervisor?.crashed === undefined
  }

  /** Model versions loaded for scoring (those of the entities on this instance's partitions). */
  get loadedModelCount(): number {
    return this.#deps.models.loadedModelCount
  }

  /** Partitions of the readings topic assigned at the last group join. */
  get assignedPartitions(): readonly number[] {
    return this.#assigned
  }

  /** The error that stopped the consumer, until its restart (consumer-supervisor.ts) joins the group again. */
  get crashed(): Error | undefined {
    return this.#supervisor?.crashed
  }

  /**
   * Registers the schemas again; the registry answers with the ids it has, so normally nothing changes. A registry
   * that lost its schemas (in-memory storage, restarted) would otherwise leave events stamped for good with an id
   * that names nothing, or another client's schema registered since. Called by the health check once started.
   */
  async refreshSchemas(): Promise<void> {
    const { registry, options, logger } = this.#deps
    if (registry === undefined || this.#producer === undefined) return
    const before = registry.eventSchemaId
    const after = await registry.registerEventSchema([options.topics.events, options.topics.scores])
    await registry.registerReadingSchemas(options.topics.readings)
    if (before !== undefined && after !== before) {
      logger.error(
        { before, after },
        'the schema registry no longer had the event schema under its id (storage lost?); registered it again: ' +
          'new events carry the new id, events written since the loss name the old one (docs/streaming.md)',
      )
    }
  }

  /**
   * Told by the health check whether Redis has lost the service's data. While it has, no model or binding can be
   * found, so every reading would be dead-lettered `unknown_entity`; the readings topic is paused instead, and the
   * readings wait in Kafka until the data is back (a restored Redis) or the instances restart with models redeployed.
   */
  setStoreLost(lost: boolean): void {
    if (lost === this.#storeLost) return
    this.#storeLost = lost
    this.#applyStorePause()
    this.#deps.logger.warn(
      lost
        ? 'consuming of readings paused: Redis lost the models and windows (they wait in Kafka)'
        : 'consuming of readings resumed: Redis has its data again',
    )
  }

  #applyStorePause(): void {
    const topics = [{ topic: this.#deps.options.topics.readings }]
    try {
      if (this.#storeLost) this.#consumer?.pause(topics)
      else this.#consumer?.resume(topics)
    } catch (error) {
      // A consumer between restarts cannot pause yet; the next group join applies it.
      this.#deps.logger.debug({ err: error }, 'pause/resume of the readings topic deferred to the next group join')
    }
  }

  async start(): Promise<void> {
    const { kafka, options, logger } = this.#deps
    await this.#ensureTopics()
    if (this.#deps.registry === undefined) {
      logger.info('events are written as JSON (no SCHEMA_REGISTRY_URL); readings are read as JSON')
    } else {
      const eventSchemaId = await this.#deps.registry.registerEventSchema([
        options.topics.events,
        options.topics.scores,
      ])
      const readingSchemaIds = await this.#deps.registry.registerReadingSchemas(options.topics.readings)
      logger.info(
        { eventSchemaId, readingSchemaIds },
        'events are written in Avro (Confluent wire format, schema anomaly-event.v1); readings are read as JSON or Avro',
      )
    }
    this.#producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: 1 })
    await this.#producer.connect()
    this.#unsubscribe = await this.#deps.bindings.subscribe(
      (entity) => {
        this.#deps.models.invalidate(entity)
        for (const worker of this.#workers.values()) worker.forget(entity)
        logger.info({ entity }, 'binding changed; entity will reload its model')
      },
      () => {
        const entities = this.#deps.models.invalidateAll()
        for (const worker of this.#workers.values()) for (const entity of entities) worker.forget(entity)
        this.#progressChecked.clear() // Redis may be back with older data: compare again before the next batch
        logger.warn(
          { entities: entities.length },
          'binding notices may have been missed (Redis reconnected); every entity reloads its model',
        )
      },
    )
    this.#supervisor = new ConsumerSupervisor({
      name: 'stream',
      logger,
      ...(this.#deps.onConsumerRestart === undefined ? {} : { onRestart: this.#deps.onConsumerRestart }),
      create: () => {
        const consumer = kafka.consumer({
          groupId: options.groupId,
          allowAutoTopicCreation: false,
          ...(options.groupTimeouts ?? DEFAULT_GROUP_TIMEOUTS),
        })
        this.#consumer = consumer
        consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
          const assigned = new Set(payload.memberAssignment[options.topics.readings] ?? [])
          // The lag of a partition another instance now owns is that instance's to report: a stale value here
          // would be summed with its fresh one for ever.
          for (const partition of this.#assigned)
            if (!assigned.has(partition)) this.#removeLag(options.topics.readings, partition)
          this.#assigned = [...assigned].sort((a, b) => a - b)
          for (const [partition, worker] of this.#workers) {
            if (assigned.has(partition)) continue
            this.#workers.delete(partition)
            this.#retire(worker)
          }
          this.#progressChecked.clear()
          // A new consumer goes on from the commits, which may be behind what the last one processed.
          this.#processedNext.clear()
          if (this.#storeLost) this.#applyStorePause() // a restarted consumer starts unpaused
          this.#joined = true
          logger.info({ partitions: [...assigned] }, 'joined consumer group')
        })
        return consumer
      },
      run: async (consumer) => {
        await consumer.connect()
        await consumer.subscribe({
          topic: options.topics.readings,
          fromBeginning: (options.readingsStart ?? 'earliest') === 'earliest',
        })
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: true,
          // One worker per partition, no shared state between them: partitions can overlap their I/O waits.
          partitionsConsumedConcurrently: 4,
          eachBatch: (payload) => this.#eachBatch(payload),
        })
      },
    })
    await this.#supervisor.start()
    this.#deadLetterTimer = setInterval(() => this.#deadLetterLog.flushIfDue(), 10_000)
    this.#deadLetterTimer.unref()
    this.#lagTimer = setInterval(() => void this.#refreshLag(), options.lagRefreshMs ?? 15_000)
    this.#lagTimer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.#deadLetterTimer)
    clearInterval(this.#lagTimer)
    this.#deadLetterLog.flushIfDue(true) // the last minute's dead letters are said before the process goes
    await this.#supervisor?.stop()
    await this.#producer?.disconnect()
    await this.#unsubscribe?.()
    this.#joined = false
    for (const partition of this.#assigned) this.#removeLag(this.#deps.options.topics.readings, partition)
    this.#assigned = []
    await this.#offsets.close()
  }

  #removeLag(topic: string, partition: number): void {
    this.#processedNext.delete(partition)
    this.#deps.metrics?.consumerLag.remove({ topic, partition: String(partition) })
    this.#deps.metrics?.framesPending.remove({ topic, partition: String(partition) })
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload
    if (!payload.isRunning() || payload.isStale() || batch.messages.length === 0) return
    if (!this.#progressChecked.has(batch.partition)) {
      const progress = await this.#progress(batch.partition)
      this.#progressChecked.add(batch.partition)
      if (storeBehind(progress)) {
        this.#readAgain(batch.partition, progress.stored, progress.committed, true)
        return
      }
    }
    // Revoked while its stored progress was read (another fetcher's rebalance): not ours to score any more.
    if (payload.isStale() || !this.#assigned.includes(batch.partition)) return
    const worker = this.#worker(batch.partition)
    try {
      await this.#scoreBatch(payload, worker)
    } finally {
      // Partitions are consumed concurrently: a batch of one revoked while it ran resolved its entities' models,
      // and set its gauges, again after the group join dropped them.
      if (!this.#assigned.includes(batch.partition)) {
        if (this.#workers.get(batch.partition) === worker) this.#workers.delete(batch.partition)
        this.#removeLag(batch.topic, batch.partition)
        this.#retire(worker)
      }
    }
  }

  /**
   * Another instance scores a revoked partition's entities now: their models (and metric series) need not stay
   * loaded here.
   */
  #retire(worker: PartitionWorker): void {
    this.#deps.models.forget(worker.entities)
    this.#deps.metrics?.modelsLoaded.set(this.#deps.models.loadedModelCount)
  }

  async #scoreBatch(payload: EachBatchPayload, worker: PartitionWorker): Promise<void> {
    const { batch } = payload
    const messages: InputMessage[] = batch.messages.map((m) => ({
      key: m.key,
      value: m.value,
      offset: BigInt(m.offset),
      kafkaTimestamp: Number(m.timestamp),
    }))
    let commit: bigint | undefined
    try {
      commit = await worker.processBatch(messages)
    } catch (error) {
      if (!(isServiceError(error) && error.code === 'StoreBehind')) throw error
      const progress = await this.#progress(batch.partition)
      if (storeBehind(progress)) {
        this.#readAgain(batch.partition, progress.stored, progress.committed, true)
        return
      }
      // The store is not behind the commit (the window was older than this worker wrote it, but the readings in
      // between are not committed yet): start the partition over from the commit, or let kafkajs fetch the batch
      // again if there is none; either way for a worker that knows only the stored windows.
      this.#deps.logger.warn({ err: error, partition: batch.partition }, 'stored window older than written')
      if (progress.committed === undefined) {
        this.#workers.delete(batch.partition)
        throw error
      }
      this.#readAgain(batch.partition, progress.committed, progress.committed, false)
      return
    }
    if (commit !== undefined) {
      await this.#deps.windows.saveProgress(this.#progressScope(), batch.partition, commit)
      await this.#consumer?.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: commit.toString(), metadata: PROGRESS_SAVED },
      ])
    }
    const next = BigInt(batch.lastOffset()) + 1n
    this.#processedNext.set(batch.partition, next)
    this.#deps.metrics?.consumerLag.set(
      { topic: batch.topic, partition: String(batch.partition) },
      readingsLag(next, undefined, { low: 0n, high: BigInt(batch.highWatermark) }, 'earliest') ?? 0,
    )
    this.#deps.metrics?.framesPending.set(
      { topic: batch.topic, partition: String(batch.partition) },
      worker.pendingFrameCount,
    )
    this.#deps.metrics?.modelsLoaded.set(this.#deps.models.loadedModelCount)
    await payload.heartbeat()
  }

  #progressScope(): string {
    return `${this.#deps.options.groupId}/${this.#deps.options.topics.readings}`
  }

  /** The offset the window store reflects for a partition, and the one committed in Kafka (with its metadata). */
  async #progress(partition: number): Promise<Progress> {
    const stored = await this.#deps.windows.loadProgress(this.#progressScope(), partition)
    if (stored === undefined) return { stored, committed: undefined, committedAfterSave: false } // nothing saved yet
    const found = (await this.#offsets.committed()).get(partition)
    return { stored, committed: found?.offset, committedAfterSave: found?.metadata === PROGRESS_SAVED }
  }

  /**
   * Sets the lag of every owned partition from the broker's high watermarks. Between batches this is the only
   * update: a paused partition, or one whose batch keeps failing, completes none.
   */
  async #refreshLag(): Promise<void> {
    const { metrics, options, logger } = this.#deps
    if (metrics === undefined || this.#lagRefreshing || !this.#joined || this.#assigned.length === 0) return
    this.#lagRefreshing = true
    try {
      const watermarks = await this.#offsets.watermarks()
      const committed = this.#assigned.every((p) => this.#processedNext.has(p))
        ? undefined
        : await this.#offsets.committed()
      for (const partition of this.#assigned) {
        const marks = watermarks.get(partition)
        if (marks === undefined) continue
        const processed = this.#processedNext.get(partition)
        const lag = readingsLag(
          processed,
          committed?.get(partition)?.offset,
          marks,
          options.readingsStart ?? 'earliest',
        )
        if (lag !== undefined)
          metrics.consumerLag.set({ topic: options.topics.readings, partition: String(partition) }, lag)
      }
    } catch (error) {
      logger.debug({ err: error }, 'consumer lag not refreshed (Kafka unreachable?); it keeps its last value')
    } finally {
      this.#lagRefreshing = false
    }
  }

  /**
   * Forgets this partition's in-memory state and reads it again from `from`: windows skip what they already cover,
   * events come again with the same eventIds. With `storeLost` the window store is behind what was committed (Redis
   * came back with older data: a snapshot, a promoted replica), so the readings in between are in no window.
   */
  #readAgain(partition: number, from: bigint, committed: bigint | undefined, storeLost: boolean): void {
    const { logger, options, metrics } = this.#deps
    const context = { partition, from: from.toString(), committed: committed?.toString() }
    if (storeLost) {
      logger.error(
        context,
        'the window store is behind the offsets committed in Kafka (Redis lost acknowledged writes): reading the ' +
          'partition again from the offset it reflects',
      )
      metrics?.partitionsReadAgain.inc()
    } else {
      logger.warn(context, 'reading the partition again from its committed offset')
    }
    // Checked: until the re-read commits, a check would find the same gap and count this loss twice.
    this.#progressChecked.add(partition)
    this.#workers.delete(partition)
    this.#processedNext.set(partition, from)
    this.#consumer?.seek({ topic: options.topics.readings, partition, offset: from.toString() })
  }

  #worker(partition: number): PartitionWorker {
    let worker = this.#workers.get(partition)
    if (worker !== undefined) return worker
    const { options, metrics, registry, windows, models } = this.#deps
    const sink = new KafkaSink({
      producer: this.#producer as Producer,
      topics: { ...options.topics, sourceReadings: options.topics.readings },
      publishScores: options.publishScores,
      sourcePartition: partition,
      ...(registry === undefined ? {} : { registry }),
      observer: {
        published: (kind, count) => {
          if (count > 0) metrics?.eventsPublished.inc({ topic: kind }, count)
        },
        deadLetter: (reason, detail, key) => {
          metrics?.deadLetters.inc({ reason })
          this.#deadLetterLog.add(reason, detail, key)
        },
        deadLetterValuesDropped: (count) =>
          this.#deps.logger.warn(
            { partition, count },
            'dead letters too large for the dead-letter topic were sent without their original bytes (still in the source topic)',
          ),
      },
    })
    worker = new PartitionWorker({
      windows,
      models,
      sink,
      options: {
        allowedLatenessMs: options.allowedLatenessMs,
        frameIdleFlushMs: options.frameIdleFlushMs ?? 0,
        maxFutureMs: options.maxFutureMs ?? 0,
        topContributorCount: options.topContributorCount,
        publishScores: options.publishScores,
        decode: (message) => this.#decode(message),
      },
      ...(metrics === undefined ? {} : { observer: workerObserver(metrics) }),
    })
    this.#workers.set(partition, worker)
    return worker
  }

  #decode(message: InputMessage): DecodeResult | Promise<DecodeResult> {
    return decodeReadingPayload(message.value ?? Buffer.alloc(0), this.#deps.registry)
  }

  async #ensureTopics(): Promise<void> {
    const { kafka, options } = this.#deps
    const { readings, events, scores, deadLetter } = options.topics
    const created = await ensureTopics(kafka, [readings, events, scores, deadLetter], options.newTopics)
    if (created.length > 0) this.#deps.logger.info({ topics: created }, 'created topics')
  }
}

/**
 * Commit metadata meaning "the window store's progress was saved before this commit". A commit without it (an offset
 * reset with kafka-consumer-groups, a version that saved no progress) says nothing about the store, so a stored
 * progress behind it is not a loss: an operator who skipped a backlog must not see it read again.
 */
const PROGRESS_SAVED = 'mvad:progress-saved'

interface Progress {
  stored: bigint | undefined
  committed: bigint | undefined
  committedAfterSave: boolean
}

function storeBehind(progress: Progress): progress is Progress & { stored: bigint; committed: bigint } {
  const { stored, committed, committedAfterSave } = progress
  return committedAfterSave && stored !== undefined && committed !== undefined && stored < committed
}
