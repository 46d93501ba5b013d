/**
 * The control plane on Kafka: a consumer (group `<groupId>.control`) reads commands from the control topic,
 * validates them (JSON, or registry-encoded with the JSON Schema registered under `<control topic>-value`),
 * dead-letters bad ones with a reason and keeps going, and hands good ones to the JobRunner. Its offset is committed
 * only after the job record exists in Redis (kafkajs commits after eachMessage resolves; a store failure throws and
 * the message is redelivered), so no command is lost; idempotency by jobId makes redelivery harmless.
 * Job status changes go to the status topic (key = jobId). Composition: app.ts.
 */
import { hostname } from 'node:os'
import type { Kafka, Producer } from 'kafkajs'
import { ServiceError } from '../errors.js'
import { SchemaType } from '@kafkajs/confluent-schema-registry'
import type { Logger } from '../observability/logger.js'
import { readSchemaText } from '../schema-files.js'
import { withoutDeliveryMarks, type JobRecord, type JobStore } from '../state/job-store.js'
import { isTransientRegistryError, registryUnavailable, type RegistryCodec } from '../stream/registry-codec.js'
import { REGISTRY_FRAME_BYTES, isRegistryEncoded } from '../stream/reading-codec.js'
import { ConsumerSupervisor, DEFAULT_GROUP_TIMEOUTS, type GroupTimeouts } from '../stream/consumer-supervisor.js'
import { boundedDetail, partitionedIfLongKey, sendFitting } from '../kafka/dead-letter.js'
import {
  CONTROL_COMMAND_SCHEMA_FILE,
  jobIdOf,
  parseJsonCommand,
  validateControlCommand,
  type CommandParseResult,
} from './commands.js'
import { cancelHandler, deleteModelHandler, deployHandler } from './handlers/lifecycle.js'
import { detectBatchHandler } from './handlers/detect-batch.js'
import type { HandlerDeps, ResultsSink } from './handlers/deps.js'
import { trainHandler } from './handlers/train.js'
import { JobRunner, type StatusSink } from './job-runner.js'
import { ensureTopics, type NewTopicSettings } from '../kafka/topics.js'

export interface ControlTopics {
  control: string
  status: string
  deadLetter: string
}

export interface ControlServiceDeps extends Omit<HandlerDeps, 'resultsSink'> {
  kafka: Kafka
  jobs: JobStore
  registry?: RegistryCodec
  logger: Logger
  topics: ControlTopics
  groupId: string
  /** How the topics the control plane creates when missing are made. */
  newTopics: NewTopicSettings
  /** The consumer's group session and heartbeat (ms). @defaultValue 30,000 and 3,000 */
  groupTimeouts?: GroupTimeouts
  leaseMs: number
  concurrency: number
  /**
   * How long a finished job's record is kept (MVAD_JOB_RETENTION_SECONDS; 0 = for ever). A command older than that
   * whose record is gone is not run: it may have run and been forgotten. @defaultValue 0
   */
  jobRetentionMs?: number
  observer?: {
    command(outcome: 'accepted' | 'duplicate' | 'dead_lettered'): void
    job(type: string, status: string): void
  }
  /**
   * Told when a job has ended (READY or FAILED), e.g. to remove the files it read: by the instance that ran it, and
   * again by one that sends its final status again (so it must be idempotent).
   */
  onJobEnded?: (record: JobRecord) => Promise<void>
  /** Told each time the supervisor restarts the control consumer (metrics). */
  onConsumerRestart?: () => void
}

/** The status-topic message of a job: its record without the command. */
export function statusMessage(record: JobRecord): Omit<JobRecord, 'command'> {
  const { command: _command, ...status } = withoutDeliveryMarks(record)
  return status
}

export class ControlService {
  readonly runner: JobRunner
  readonly #deps: ControlServiceDeps
  #producer: Producer | undefined
  #supervisor: ConsumerSupervisor | undefined
  #joined = false
  readonly #knownTopics = new Set<string>()

  constructor(deps: ControlServiceDeps) {
    this.#deps = deps
    const resultsSink: ResultsSink = { publish: (topic, messages) => this.#publishResults(topic, messages) }
    const handlerDeps: HandlerDeps = { ...deps, resultsSink }
    const status: StatusSink = { publish: (record, resend) => this.#publishStatus(record, resend === true) }
    this.runner = new JobRunner({
      jobs: deps.jobs,
      status,
      logger: deps.logger,
      instanceId: `${hostname()}-${process.pid}-${Date.now().toString(36)}`,
      leaseMs: deps.leaseMs,
      concurrency: deps.concurrency,
      handlers: {
        train: trainHandler(handlerDeps),
        'detect-batch': detectBatchHandler(handlerDeps),
        deploy: deployHandler(handlerDeps),
        'delete-model': deleteModelHandler(handlerDeps),
        cancel: cancelHandler(() => this.runner),
      },
    })
  }

  get isConsuming(): boolean {
    return this.#joined && this.#supervisor?.crashed === undefined
  }

  async start(): Promise<void> {
    const { kafka, topics, logger } = this.#deps
    await this.#ensureTopics([topics.control, topics.status, topics.deadLetter])
    if (this.#deps.registry !== undefined) {
      await this.#deps.registry.register(
        { type: SchemaType.JSON, schema: readSchemaText(CONTROL_COMMAND_SCHEMA_FILE) },
        `${topics.control}-value`,
      )
    }
    this.#producer = kafka.producer({ allowAutoTopicCreation: false })
    await this.#producer.connect()
    this.runner.start()
    await this.runner.sweep()
    this.#supervisor = new ConsumerSupervisor({
      name: 'control',
      logger,
      ...(this.#deps.onConsumerRestart === undefined ? {} : { onRestart: this.#deps.onConsumerRestart }),
      create: () => {
        const consumer = kafka.consumer({
          groupId: `${this.#deps.groupId}.control`,
          allowAutoTopicCreation: false,
          ...(this.#deps.groupTimeouts ?? DEFAULT_GROUP_TIMEOUTS),
        })
        consumer.on(consumer.events.GROUP_JOIN, () => {
          this.#joined = true
          logger.info({ topic: topics.control }, 'control consumer joined its group')
        })
        return consumer
      },
      run: async (consumer) => {
        await consumer.connect()
        await consumer.subscribe({ topic: topics.control, fromBeginning: true })
        await consumer.run({
          eachMessage: async ({ message, partition }) => {
            const parsed = await this.#parse(message.value ?? Buffer.alloc(0))
            if (!parsed.ok) {
              await this.#deadLetter(message.key, message.value, parsed, partition, message.offset)
              return
            }
            const expired = await this.#expired(parsed.command.jobId, Number(message.timestamp))
            if (expired !== undefined) {
              await this.#deadLetter(message.key, message.value, expired, partition, message.offset)
              return
            }
            const outcome = await this.runner.submit(parsed.command)
            if (outcome === 'conflict') {
              const existing = await this.#deps.jobs.get(parsed.command.jobId)
              const detail =
                existing === undefined
                  ? `jobId ${parsed.command.jobId} named a job made by another command (since forgotten); give this command a new jobId`
                  : `jobId ${parsed.command.jobId} names a ${existing.type} job made by another command (created ${existing.createdTime}); give this command a new jobId`
              await this.#deadLetter(
                message.key,
                message.value,
                { ok: false, reason: 'job_id_conflict', detail },
                partition,
                message.offset,
              )
              return
            }
            this.#deps.observer?.command(outcome)
          },
        })
      },
    })
    await this.#supervisor.start()
  }

  async stop(): Promise<void> {
    await this.#supervisor?.stop()
    this.#joined = false
    await this.runner.stop()
    await this.#producer?.disconnect()
  }

  /**
   * A command sent longer ago than the job retention, with no record of its job, may have run and been forgotten.
   * Running it again could undo what came after it (an old deploy rolls entities back, an old delete-model removes a
   * model made since), as when a new consumer group (KAFKA_GROUP_ID changed, or its offsets expired) reads the control
   * topic from its start. A record still there means a plain redelivery, which the jobId makes harmless. Exact: a job
   * is forgotten a retention after it *finished*, which is after its command was sent.
   */
  async #expired(jobId: string, sentAtMs: number): Promise<Extract<CommandParseResult, { ok: false }> | undefined> {
    const retentionMs = this.#deps.jobRetentionMs ?? 0
    // A record without a timestamp (-1) is not old: only a real send time counts.
    if (retentionMs <= 0 || !(sentAtMs > 0) || !(sentAtMs < Date.now() - retentionMs)) return undefined
    if ((await this.#deps.jobs.get(jobId)) !== undefined) return undefined
    return {
      ok: false,
      reason: 'command_expired',
      detail:
        `sent at ${new Date(sentAtMs).toISOString()}, longer ago than the job retention ` +
        `(MVAD_JOB_RETENTION_SECONDS = ${retentionMs / 1000}), and its job is not known: it may have run and been ` +
        'forgotten, so it is not run again; send it again with a new jobId if it is still wanted',
    }
  }

  async #parse(payload: Buffer): Promise<CommandParseResult> {
    const registry = this.#deps.registry
    if (registry !== undefined && isRegistryEncoded(payload)) {
      try {
        return validateControlCommand(await registry.decode(payload))
      } catch (error) {
        // Unreachable registry: the batch fails and is consumed again, the command is not dead-lettered (lost).
        if (isTransientRegistryError(error)) throw registryUnavailable(error)
        return { ok: false, reason: 'invalid_command', detail: `registry decoding failed: ${String(error)}` }
      }
    }
    return parseJsonCommand(payload)
  }

  async #deadLetter(
    key: Buffer | null,
    value: Buffer | null,
    rejected: Extract<CommandParseResult, { ok: false }>,
    partition: number,
    offset: string,
  ): Promise<void> {
    let jobId: string | undefined
    try {
      // A registry-encoded JSON Schema command is its JSON after the 5-byte frame (magic byte, schema id).
      const json = value !== null && isRegistryEncoded(value) ? value.subarray(REGISTRY_FRAME_BYTES) : value
      jobId = jobIdOf(JSON.parse(json?.toString('utf8') ?? 'null'))
    } catch {
      jobId = undefined
    }
    const detail = boundedDetail(rejected.detail)
    const producer = this.#producer
    if (producer !== undefined) {
      const letter = {
        topic: this.#deps.topics.deadLetter,
        messages: [
          partitionedIfLongKey({
            key,
            value,
            headers: {
              'mvad-dlq-reason': rejected.reason,
              'mvad-dlq-detail': detail,
              'mvad-source-topic': this.#deps.topics.control,
              'mvad-source-partition': String(partition),
              'mvad-source-offset': offset,
              ...(jobId === undefined ? {} : { 'mvad-job-id': jobId }),
            },
          }),
        ],
      }
      await sendFitting(
        [letter],
        () => true,
        ([group]) => producer.send({ ...(group as typeof letter), acks: -1 }),
      )
    }
    this.#deps.observer?.command('dead_lettered')
    this.#deps.logger.warn({ reason: rejected.reason, detail, partition, offset }, 'control command dead-lettered')
  }

  async #publishStatus(record: JobRecord, resend: boolean): Promise<void> {
    // The job counter counts jobs reaching a status, not sends: a final status sent again is not a second job.
    if (!resend) this.#deps.observer?.job(record.type, record.status)
    if ((record.status === 'READY' || record.status === 'FAILED') && this.#deps.onJobEnded !== undefined) {
      await this.#deps
        .onJobEnded(record)
        .catch((error: unknown) =>
          this.#deps.logger.warn({ err: error, jobId: record.jobId }, 'clean-up after a job failed'),
        )
    }
    await this.#started().send({
      topic: this.#deps.topics.status,
      acks: -1,
      messages: [
        {
          key: record.jobId,
          value: JSON.stringify(statusMessage(record)),
          headers: { 'content-type': 'application/json' },
        },
      ],
    })
  }

  async #publishResults(topic: string, messages: { key: string; value: string }[]): Promise<void> {
    if (!this.#knownTopics.has(topic)) await this.#ensureTopics([topic])
    const producer = this.#started()
    // A mini-batch of anomalous rows with 30 contributors each is over the broker's 1 MB batch limit, and all of a
    // job's rows share its key (one partition, one record batch): cut into requests that fit.
    await sendFitting(
      [{ topic, messages }],
      () => false,
      (groups) => producer.sendBatch({ topicMessages: groups, acks: -1 }),
    )
  }

  /**
   * The producer, once start() made it. A REST job can run (and end) before start() — the REST API listens from the
   * first moment — so a send then must fail, not pass for done: a final status stays marked unsent and is sent by a
   * later sweep, and a detect-batch's rows are retried, then fail the job, instead of being dropped.
   */
  #started(): Producer {
    if (this.#producer === undefined) {
      throw new ServiceError('InfrastructureUnavailable', 'the control plane has not connected to Kafka yet')
    }
    return this.#producer
  }

  async #ensureTopics(topics: string[]): Promise<void> {
    await ensureTopics(this.#deps.kafka, topics, this.#deps.newTopics)
    for (const t of topics) this.#knownTopics.add(t)
  }
}
