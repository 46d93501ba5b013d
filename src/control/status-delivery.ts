/**
 * A job's statuses on the status topic: each sent in order after the job's previous one, and its final status
 * (READY / FAILED) delivered at least once — the job store's mark (`finalStatusUnsent`, job-store.ts) is cleared only
 * once the topic took it, and `resendDue` sends again what is still marked.
 */
import type { JobRecord, JobStore } from '../state/job-store.js'

export interface StatusSink {
  /** Sends the record's status; `resend` when it is a final status sent again (StatusDelivery.resendDue). */
  publish(record: JobRecord, resend?: boolean): Promise<void>
}

interface DeliveryLogger {
  warn(obj: object, msg: string): void
}

/** Final statuses sent again per sweep, at most. */
const RESEND_BATCH = 100
/** Unsent final statuses looked at per sweep (the due ones among them are sent, oldest first). */
const UNSENT_SCAN = 10_000
/** Longest wait between two attempts at a final status the topic keeps refusing. */
const MAX_RESEND_INTERVAL_MS = 3_600_000

export class StatusDelivery {
  /** Per job, its last status send: the next waits for it, so a job's statuses reach the topic in order. */
  readonly #sends = new Map<string, Promise<void>>()

  constructor(
    private readonly jobs: JobStore,
    private readonly sink: StatusSink,
    private readonly logger: DeliveryLogger,
    /** How long `publish` waits for a send before going on (a third of a lease), and the grace before a resend. */
    private readonly timing: { waitMs: number; leaseMs: number; now: () => Date },
  ) {}

  /**
   * The job store is the truth; the status topic is a notification: a send that fails is logged, not the job's
   * failure, and one that hangs (Kafka retrying) is waited for at most `waitMs`, so a queued job's lease does not
   * lapse before the queue renews it. The send goes on behind, and the job's next status is sent after it (not
   * beside it, where a retrying RUNNING could land after READY and a client taking the latest would see RUNNING).
   */
  async publish(record: JobRecord, resend = false): Promise<void> {
    const { jobId } = record
    const sent = (this.#sends.get(jobId) ?? Promise.resolve())
      .then(() => this.sink.publish(record, resend))
      .then(() => this.#markSent(record))
      .catch((error: unknown) => this.logger.warn({ err: error, jobId }, 'status event not published'))
    this.#sends.set(jobId, sent)
    void sent.finally(() => {
      if (this.#sends.get(jobId) === sent) this.#sends.delete(jobId)
    })
    let timer: NodeJS.Timeout | undefined
    const waited = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.timing.waitMs)
    })
    const done = await Promise.race([sent.then(() => true), waited])
    clearTimeout(timer)
    if (!done) this.logger.warn({ jobId, status: record.status }, 'status event slow to send; going on')
  }

  /**
   * Sends again the final statuses still marked unsent two leases after the job finished — the first send had that
   * long, kafkajs's own retries included — and after each failed attempt twice as long again (at most an hour).
   * One instance takes each attempt (a guarded update stamped when it is taken); the sends go on behind, so a
   * refusing topic does not hold up the sweep. A status may still reach the topic twice (a send that succeeded while
   * its mark was being cleared, or one that landed after its grace): statuses are keyed by jobId and the same each
   * time.
   */
  async resendDue(): Promise<void> {
    const due = (r: JobRecord, at: Date): boolean => {
      const waitMs = Math.min(2 * this.timing.leaseMs * 2 ** (r.finalStatusAttempts ?? 0), MAX_RESEND_INTERVAL_MS)
      const since = Date.parse(r.finalStatusResendAt ?? r.lastUpdatedTime)
      return r.finalStatusUnsent === true && since < at.getTime() - waitMs && !this.#sends.has(r.jobId)
    }
    const unsent = await this.jobs.listUnsentFinal(UNSENT_SCAN)
    for (const record of unsent.filter((r) => due(r, this.timing.now())).slice(0, RESEND_BATCH)) {
      const at = this.timing.now()
      const claimed = await this.jobs.update(record.jobId, { finalStatusResend: at }, at, (r) => due(r, at))
      if (!claimed.ok) continue
      this.logger.warn(
        {
          jobId: record.jobId,
          status: record.status,
          finishedAt: record.lastUpdatedTime,
          attempt: claimed.record.finalStatusAttempts,
        },
        'final status not known to be sent; sending it again',
      )
      void this.publish(claimed.record, true)
    }
  }

  /** A final status on the topic: its mark is cleared, else it is sent again (a duplicate, not a loss). */
  async #markSent(record: JobRecord): Promise<void> {
    if (record.finalStatusUnsent !== true) return
    try {
      await this.jobs.update(record.jobId, { finalStatusSent: true }, this.timing.now())
    } catch (error) {
      this.logger.warn(
        { err: error, jobId: record.jobId },
        'final status sent but not marked sent; it may be sent again',
      )
    }
  }
}
