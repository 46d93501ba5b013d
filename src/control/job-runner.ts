/**
 * Runs control-plane jobs with a lease, so a job is never stuck RUNNING forever:
 *
 *   submit   create the record (idempotent by jobId: a redelivered command finds it and runs nothing) with a lease
 *            held by this instance, then queue it for a slot (a cancel starts at once; deploy and delete-model
 *            have a lane of their own, one at a time);
 *   run      claim CREATED → RUNNING (guarded: only one instance wins), renew the lease every leaseMs/3 while the
 *            handler works; a renewal that finds `cancelRequested` (set by a cancel command on any instance) aborts
 *            the handler; the outcome is READY with the handler's result (that write is retried: the work is
 *            done), or FAILED with `{code, message}`;
 *   sweep    every leaseMs, each instance looks at unfinished jobs whose lease expired (their instance died):
 *            CREATED ones are claimed and run here (they had not started), RUNNING ones become FAILED with
 *            JobInterrupted (their partial work is not resumable; the handler's `interrupted` hook cleans up, e.g. the
 *            model version being trained becomes FAILED). Resubmit with a new jobId to run again.
 *            It also drops the index entries of finished jobs forgotten after the job store's retention, and sends
 *            again the final statuses not known to have reached the status topic (a send that failed, or a crash
 *            between the job's last write and its send): a client waiting on the topic gets the end of every job.
 *   stop     running jobs are aborted and marked FAILED (JobInterrupted, "service stopping").
 * Every status change is published to the status topic through the StatusSink.
 */
import { ServiceError, toServiceError } from '../errors.js'
import type { JobRecord, JobStore, JobUpdate } from '../state/job-store.js'
import { sameCommand, type ControlCommand } from './commands.js'
import { StatusDelivery, type StatusSink } from './status-delivery.js'

export type { StatusSink } from './status-delivery.js'

export interface JobContext {
  readonly jobId: string
  readonly signal: AbortSignal
  /** Reports progress (0–1); written at most every 250 ms and when it moved by ≥ 1 %. */
  progress(fraction: number): Promise<void>
  /** Stores a partial result early (e.g. the model version a training job is filling). */
  setResult(result: unknown): Promise<void>
  /** Throws JobCanceled when the job was canceled (JobInterrupted when the service is stopping). */
  throwIfCanceled(): void
  /**
   * What a failed run records: the abort's reason once the job was aborted (JobCanceled, or JobInterrupted when the
   * service stops) — whatever error the abort caused downstream — else `error` as a ServiceError.
   */
  failureOf(error: unknown): ServiceError
}

export interface JobHandler {
  run(command: ControlCommand, context: JobContext): Promise<unknown>
  /** Cleanup after a job of this type was interrupted (its runner died or stopped). */
  interrupted?(record: JobRecord): Promise<void>
}

export interface JobRunnerLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export interface JobRunnerOptions {
  jobs: JobStore
  handlers: Readonly<Record<ControlCommand['type'], JobHandler>>
  status: StatusSink
  logger: JobRunnerLogger
  /** This instance's id (owner of its leases). */
  instanceId: string
  /** @defaultValue 15 s */
  leaseMs?: number
  /** Jobs run at once on this instance. @defaultValue 2 */
  concurrency?: number
  now?: () => Date
}

/** `conflict`: the jobId names a job made by another command (nothing is run; the caller reports it). */
export type SubmitOutcome = 'accepted' | 'duplicate' | 'conflict'

export class JobRunner {
  readonly #o: Required<Omit<JobRunnerOptions, 'now'>> & { now: () => Date }
  /** Jobs waiting for a slot (MVAD_JOB_CONCURRENCY), and lifecycle jobs waiting for their lane (see #schedule). */
  readonly #queue: string[] = []
  readonly #lane: string[] = []
  readonly #running = new Map<string, AbortController>()
  readonly #inSlots = new Set<string>()
  #inLane: string | undefined
  readonly #delivery: StatusDelivery
  readonly #idle = new Set<() => void>()
  #sweepTimer: NodeJS.Timeout | undefined
  #queueLeaseTimer: NodeJS.Timeout | undefined
  #stopped = false
  #sweeping = false

  constructor(options: JobRunnerOptions) {
    this.#o = { leaseMs: 15_000, concurrency: 2, now: () => new Date(), ...options }
    this.#delivery = new StatusDelivery(this.#o.jobs, this.#o.status, this.#o.logger, {
      waitMs: this.#renewEveryMs,
      leaseMs: this.#o.leaseMs,
      now: this.#o.now,
    })
  }

  get runningJobIds(): string[] {
    return [...this.#running.keys()]
  }

  start(): void {
    this.#sweepTimer = setInterval(() => {
      // One sweep at a time: a slow job store must not pile them up.
      if (this.#sweeping) return
      this.#sweeping = true
      this.sweep()
        .catch((error: unknown) => this.#o.logger.error({ err: error }, 'job sweep failed'))
        .finally(() => (this.#sweeping = false))
    }, this.#o.leaseMs)
    this.#sweepTimer.unref()
    this.#queueLeaseTimer = setInterval(() => this.renewQueuedLeases(), this.#renewEveryMs)
    this.#queueLeaseTimer.unref()
  }

  /**
   * Renews the leases of the jobs waiting in this instance's queue, as of running ones: an expired lease lets another
   * instance's sweep take a job that only waits its turn here — and a REST job's data is on this instance only. A job
   * whose lease cannot be renewed (canceled, or taken) leaves the queue.
   */
  renewQueuedLeases(): void {
    const at = this.#o.now()
    for (const jobId of [...this.#queue, ...this.#lane]) {
      this.#o.jobs
        .update(jobId, { lease: this.#lease(at) }, at, (r) => r.status === 'CREATED' && r.owner === this.#o.instanceId)
        .then((renewed) => {
          if (renewed.ok) return
          for (const queue of [this.#queue, this.#lane]) {
            const index = queue.indexOf(jobId)
            if (index >= 0) queue.splice(index, 1)
          }
        })
        .catch((error: unknown) => this.#o.logger.warn({ err: error, jobId }, 'lease renewal of a queued job failed'))
    }
  }

  /** Records the job (idempotent by jobId) and queues it. Throws only when the job store is unreachable. */
  async submit(command: ControlCommand): Promise<SubmitOutcome> {
    const now = this.#o.now()
    const { created, record } = await this.#o.jobs.create(command.jobId, command.type, command, now)
    if (!created && !sameCommand(record.command, command)) {
      this.#o.logger.warn(
        { jobId: command.jobId, type: command.type, existingType: record.type },
        'command refused: its jobId names a job made by another command',
      )
      return 'conflict'
    }
    if (!created) {
      this.#o.logger.info(
        { jobId: command.jobId, status: record.status },
        'duplicate command: job exists, not run again',
      )
      return 'duplicate'
    }
    // Guarded: a record without a lease is fair game for another instance's sweep, which may have claimed it (and
    // started it) in between; then it is that instance's to run, not also ours.
    const leased = await this.#o.jobs.update(
      command.jobId,
      { lease: this.#lease(now) },
      now,
      (r) => r.status === 'CREATED' && r.owner === undefined,
    )
    if (!leased.ok) {
      this.#o.logger.info({ jobId: command.jobId }, 'job taken by another instance before its lease was set')
      return 'accepted'
    }
    await this.#delivery.publish(leased.record)
    this.#schedule(command.jobId, command.type)
    return 'accepted'
  }

  /** Requests cancellation of `jobId`; returns the target's status after the request. */
  async cancel(jobId: string): Promise<JobRecord> {
    const now = this.#o.now()
    const target = await this.#o.jobs.get(jobId)
    if (target === undefined) throw new ServiceError('JobNotFound', `job ${jobId} does not exist`)
    if (target.status === 'CREATED') {
      const failed = await this.#finish(
        jobId,
        'FAILED',
        { code: 'JobCanceled', message: 'canceled before it started' },
        (r) => r.status === 'CREATED',
      )
      if (failed !== undefined) return failed
    }
    if (target.status === 'READY' || target.status === 'FAILED') return target
    const requested = await this.#o.jobs.update(jobId, { cancelRequested: true }, now)
    this.#running.get(jobId)?.abort()
    return requested.ok ? requested.record : ((await this.#o.jobs.get(jobId)) ?? target)
  }

  /** Fails or re-runs unfinished jobs whose lease expired (see the header). */
  async sweep(): Promise<void> {
    const now = this.#o.now()
    const forgotten = await this.#o.jobs.forgetExpired(now)
    if (forgotten > 0) this.#o.logger.info({ forgotten }, 'finished jobs past their retention forgotten')
    // Jobs queued here are ours too (their leases are renewed while they wait: renewQueuedLeases).
    const expired = (r: JobRecord): boolean =>
      (r.status === 'CREATED' || r.status === 'RUNNING') &&
      !this.#running.has(r.jobId) &&
      !this.#isQueued(r.jobId) &&
      (r.leaseUntil === undefined || r.leaseUntil < now.toISOString())
    const candidates = [
      ...(await this.#o.jobs.list({ status: 'RUNNING', limit: 1000 })),
      ...(await this.#o.jobs.list({ status: 'CREATED', limit: 1000 })),
    ].filter(expired)
    for (const record of candidates) {
      if (record.status === 'CREATED') {
        const claimed = await this.#o.jobs.update(record.jobId, { lease: this.#lease(now) }, now, expired)
        if (claimed.ok) {
          this.#o.logger.warn(
            { jobId: record.jobId, owner: record.owner },
            'job was never started by its instance; running it here',
          )
          this.#schedule(record.jobId, record.type)
        }
        continue
      }
      const failed = await this.#finish(
        record.jobId,
        'FAILED',
        {
          code: 'JobInterrupted',
          message: `the instance running this job (${record.owner ?? 'unknown'}) stopped before it finished (lease expired ${record.leaseUntil ?? ''}); submit it again with a new jobId`,
        },
        expired,
      )
      if (failed !== undefined) {
        this.#o.logger.warn({ jobId: record.jobId, owner: record.owner }, 'job interrupted: marked FAILED')
        await this.#o.handlers[record.type as ControlCommand['type']]
          ?.interrupted?.(failed)
          .catch((error: unknown) =>
            this.#o.logger.warn({ err: error, jobId: record.jobId }, 'cleanup of an interrupted job failed'),
          )
      }
    }
    await this.#delivery.resendDue()
  }

  /** Resolves when no job is queued or running (tests, shutdown). */
  async idle(): Promise<void> {
    while (!this.#isIdle()) {
      await new Promise<void>((resolve) => this.#idle.add(resolve))
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearInterval(this.#sweepTimer)
    clearInterval(this.#queueLeaseTimer)
    this.#queue.length = 0
    this.#lane.length = 0
    for (const controller of this.#running.values())
      controller.abort(new ServiceError('JobInterrupted', 'service stopping'))
    await this.idle()
  }

  /** Leases are renewed every third of one, so two renewals can fail before a lease lapses. */
  get #renewEveryMs(): number {
    return Math.max(50, Math.floor(this.#o.leaseMs / 3))
  }

  #isQueued(jobId: string): boolean {
    return this.#queue.includes(jobId) || this.#lane.includes(jobId)
  }

  #isIdle(): boolean {
    return this.#queue.length === 0 && this.#lane.length === 0 && this.#running.size === 0
  }

  #lease(now: Date): { owner: string; until: Date } {
    return { owner: this.#o.instanceId, until: new Date(now.getTime() + this.#o.leaseMs) }
  }

  /**
   * Where a job waits. Trainings and detect-batches queue for a slot (MVAD_JOB_CONCURRENCY). A cancel starts at
   * once: it acts while its target runs. `deploy` and `delete-model` only write a few Redis keys, and a rollback is
   * wanted now, not after the hour-long jobs ahead of it: they have a lane of their own outside the slots, one at a
   * time and in order, so two deploys of the same entities (or a deploy and a delete of its model) on this instance
   * do not interleave their reads and writes.
   */
  #schedule(jobId: string, type: string): void {
    if (type === 'cancel') {
      if (!this.#stopped && !this.#running.has(jobId)) this.#start(jobId)
    } else this.#enqueue(LANE_TYPES.has(type) ? this.#lane : this.#queue, jobId)
  }

  #enqueue(queue: string[], jobId: string): void {
    if (this.#stopped || this.#isQueued(jobId) || this.#running.has(jobId)) return
    queue.push(jobId)
    this.#pump()
  }

  #pump(): void {
    while (this.#inSlots.size < this.#o.concurrency && this.#queue.length > 0) {
      const jobId = this.#queue.shift() as string
      this.#inSlots.add(jobId)
      this.#start(jobId, () => this.#inSlots.delete(jobId))
    }
    if (this.#inLane === undefined && this.#lane.length > 0) {
      const jobId = this.#lane.shift() as string
      this.#inLane = jobId
      this.#start(jobId, () => {
        this.#inLane = undefined
      })
    }
  }

  /** Runs a job now (pump keeps the slots and the lane; a cancel must not wait behind its target). */
  #start(jobId: string, ended?: () => void): void {
    const controller = new AbortController()
    this.#running.set(jobId, controller)
    this.#execute(jobId, controller)
      .catch((error: unknown) => this.#o.logger.error({ err: error, jobId }, 'job bookkeeping failed'))
      .finally(() => {
        if (this.#running.get(jobId) === controller) this.#running.delete(jobId)
        ended?.()
        this.#pump()
        if (this.#isIdle()) {
          for (const resolve of this.#idle) resolve()
          this.#idle.clear()
        }
      })
  }

  async #execute(jobId: string, controller: AbortController): Promise<void> {
    const mine = (r: JobRecord): boolean => r.owner === this.#o.instanceId
    const now = this.#o.now()
    const claimed = await this.#o.jobs.update(
      jobId,
      { status: 'RUNNING', lease: this.#lease(now) },
      now,
      (r) => r.status === 'CREATED' && mine(r),
    )
    if (!claimed.ok) return // canceled before it started, or another instance has it
    const command = claimed.record.command as ControlCommand
    const handler = this.#o.handlers[command.type]
    // Renewed from the claim on: a slow status send below must not let the lease lapse.
    const renew = setInterval(() => {
      const at = this.#o.now()
      this.#o.jobs
        .update(jobId, { lease: this.#lease(at) }, at, mine)
        .then((renewed) => {
          if (!renewed.ok || renewed.record.cancelRequested === true) controller.abort()
        })
        .catch((error: unknown) => this.#o.logger.warn({ err: error, jobId }, 'lease renewal failed'))
    }, this.#renewEveryMs)
    await this.#delivery.publish(claimed.record)
    let lastWrite = 0
    let lastFraction = 0
    const context: JobContext = {
      jobId,
      signal: controller.signal,
      // Never rejects: handlers report progress fire-and-forget, and a progress write that fails (Redis away for a
      // moment) must not become an unhandled rejection that ends the process; the job's own writes decide its fate.
      progress: async (fraction) => {
        const at = Date.now()
        if (at - lastWrite < 250 || Math.abs(fraction - lastFraction) < 0.01) return
        lastWrite = at
        lastFraction = fraction
        try {
          const updated = await this.#o.jobs.update(
            jobId,
            { progress: Math.floor(fraction * 100) },
            this.#o.now(),
            mine,
          )
          if (updated.ok) await this.#delivery.publish(updated.record)
        } catch (error) {
          this.#o.logger.warn({ err: error, jobId }, 'progress not recorded')
        }
      },
      setResult: async (result) => {
        await this.#o.jobs.update(jobId, { result }, this.#o.now(), mine)
      },
      throwIfCanceled: () => {
        if (controller.signal.aborted) throw abortFailure(controller.signal)
      },
      failureOf: (error) =>
        controller.signal.aborted ? abortFailure(controller.signal) : toServiceError(error, 'UnexpectedError'),
    }
    try {
      let result: unknown
      try {
        context.throwIfCanceled() // aborted while RUNNING was published: a handler would miss the abort event
        result = await handler.run(command, context)
      } catch (error) {
        const failure = context.failureOf(error)
        await this.#finish(jobId, 'FAILED', { code: failure.code, message: failure.message }, mine)
        this.#o.logger.warn({ jobId, type: command.type, code: failure.code, message: failure.message }, 'job failed')
        return
      }
      // A handler that returned has committed its work (a READY model version, a stored result): a cancel that
      // arrived after its last check is too late, and a failed write of READY (Redis away for a moment) is retried,
      // never turned into FAILED — either would contradict what the job made.
      const done = await this.#finishReady(jobId, mine, result)
      this.#o.logger.info({ jobId, type: command.type, status: done?.status }, 'job finished')
    } finally {
      clearInterval(renew)
    }
  }

  /**
   * Writes READY, retrying while the job store is unreachable (the lease is still renewed meanwhile). If it stays
   * unreachable past the retries, the job is left RUNNING: once its lease lapses another instance's sweep records
   * it as interrupted, which at least is not a claim that its work failed.
   */
  async #finishReady(jobId: string, guard: (r: JobRecord) => boolean, result: unknown): Promise<JobRecord | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#finish(jobId, 'READY', undefined, guard, result)
      } catch (error) {
        if (attempt >= READY_WRITE_RETRIES.length || this.#stopped) throw error
        this.#o.logger.warn({ err: error, jobId }, 'the job did its work but READY was not recorded; retrying')
        await new Promise((resolve) => setTimeout(resolve, READY_WRITE_RETRIES[attempt]))
      }
    }
  }

  async #finish(
    jobId: string,
    status: 'READY' | 'FAILED',
    error: { code: string; message: string } | undefined,
    guard: (r: JobRecord) => boolean,
    result?: unknown,
  ): Promise<JobRecord | undefined> {
    const update: JobUpdate = { status, ...(error === undefined ? {} : { errors: [error] }) }
    if (result !== undefined) update.result = result
    const outcome = await this.#o.jobs.update(jobId, update, this.#o.now(), guard)
    if (!outcome.ok) return undefined
    await this.#delivery.publish(outcome.record)
    return outcome.record
  }
}

/** Job types with a lane of their own outside the slots (see #schedule). */
const LANE_TYPES: ReadonlySet<string> = new Set(['deploy', 'delete-model'])

/** Waits between attempts to record READY after the job's work is done (ms): under 8 s in all, within a lease. */
const READY_WRITE_RETRIES = [250, 500, 1_000, 2_000, 4_000]

function abortFailure(signal: AbortSignal): ServiceError {
  const reason: unknown = signal.reason
  if (reason instanceof ServiceError && reason.code === 'JobInterrupted') return reason
  return new ServiceError('JobCanceled', 'the job was canceled')
}
