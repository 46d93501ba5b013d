/**
 * Keeps a kafkajs consumer running. kafkajs restarts a crashed consumer only when the error is retriable; a
 * non-retriable one — the group coordinator no longer knowing the member after a long stall, "Specified group
 * generation id is not valid" (tulios/kafkajs#1534), both of which other clients answer by rejoining — stops it for
 * good, and the service would then sit alive but consume nothing. The supervisor creates and starts a new consumer
 * in the same group after a backoff (1 s, doubling to 30 s, reset by a group join). Nothing is lost: offsets are
 * committed only after a batch is processed, so the new member resumes from the last commit.
 */
import type { Consumer } from 'kafkajs'
import type { Logger } from '../observability/logger.js'

/**
 * A group member's session timeout and heartbeat interval (ms; kafkajs's names): a member whose heartbeats stop for
 * the session timeout (a crash, a stall) is removed and its partitions go to the others.
 */
export interface GroupTimeouts {
  readonly sessionTimeout: number
  readonly heartbeatInterval: number
}

/** kafkajs's defaults, kept when the config gives none (KAFKA_SESSION_TIMEOUT_MS, KAFKA_HEARTBEAT_INTERVAL_MS). */
export { DEFAULT_GROUP_TIMEOUTS } from '../config/config.js'

export interface ConsumerSupervisorOptions {
  /** Names the consumer in logs ("stream", "control"). */
  name: string
  logger: Pick<Logger, 'info' | 'error'>
  /** A new, unconnected consumer (with its own event listeners). */
  create: () => Consumer
  /** Connects, subscribes and runs `consumer`. */
  run: (consumer: Consumer) => Promise<void>
  /** Backoff before a restart: initial and largest delay. @defaultValue { initialMs: 1000, maxMs: 30000 } */
  backoff?: { initialMs: number; maxMs: number }
  /** Called on each restart attempt (metrics). */
  onRestart?: () => void
}

export class ConsumerSupervisor {
  readonly #options: ConsumerSupervisorOptions
  #consumer: Consumer | undefined
  #crashed: Error | undefined
  #stopping = false
  #delayMs: number
  #timer: NodeJS.Timeout | undefined
  /** A restart under way (stop waits for it, then stops what it started). */
  #restarting: Promise<void> | undefined
  #restarts = 0

  constructor(options: ConsumerSupervisorOptions) {
    this.#options = options
    this.#delayMs = options.backoff?.initialMs ?? 1000
  }

  /** The error that stopped the consumer, until a restarted one (ours or kafkajs's own) joins its group. */
  get crashed(): Error | undefined {
    return this.#crashed
  }

  /** Restarts attempted so far. */
  get restarts(): number {
    return this.#restarts
  }

  /** Starts the first consumer; its errors propagate (start-up fails loudly). */
  async start(): Promise<void> {
    this.#stopping = false
    await this.#startOne()
  }

  async stop(): Promise<void> {
    this.#stopping = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#restarting
    await this.#consumer?.disconnect()
  }

  async #startOne(): Promise<void> {
    const consumer = this.#options.create()
    this.#consumer = consumer
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.#crashed = undefined
      this.#delayMs = this.#options.backoff?.initialMs ?? 1000
    })
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      const { logger, name } = this.#options
      logger.error({ err: payload.error, restart: payload.restart, consumer: name }, 'consumer crashed')
      if (this.#stopping || consumer !== this.#consumer) return
      // Not consuming until a member joins again, whoever restarts it: readiness must not claim a consumer that
      // kafkajs is still retrying against a broker that is down (it used to stay "up" through a whole outage).
      this.#crashed = payload.error
      if (!payload.restart) this.#scheduleRestart()
    })
    await this.#options.run(consumer)
  }

  #scheduleRestart(): void {
    const delay = this.#delayMs
    this.#delayMs = Math.min(2 * delay, this.#options.backoff?.maxMs ?? 30_000)
    this.#options.logger.info({ consumer: this.#options.name, inMs: delay }, 'restarting the consumer')
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#restarting = this.#restart().finally(() => (this.#restarting = undefined))
    }, delay)
  }

  async #restart(): Promise<void> {
    if (this.#stopping) return
    this.#restarts++
    this.#options.onRestart?.()
    try {
      await this.#consumer?.disconnect()
    } catch {
      // the crashed consumer may already be closed
    }
    // A stop that came while the old consumer disconnected: starting a new one now would leave a member in the group
    // after the process has gone (its group then rebalances until the session times out).
    if (this.#stopping) return
    try {
      await this.#startOne()
    } catch (error) {
      this.#options.logger.error({ err: error, consumer: this.#options.name }, 'consumer restart failed')
      if (!this.#stopping) this.#scheduleRestart()
    }
  }
}
