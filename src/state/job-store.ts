/**
 * JobStore port: control-plane jobs (train, detect-batch, deploy, delete-model, cancel) and their status.
 * Idempotent by jobId: creating a job whose id exists returns the existing record (a redelivered command never runs
 * twice). Status moves CREATED → RUNNING → READY | FAILED (CREATED → FAILED too, for a cancel or a refusal); any
 * other move is refused, so two workers cannot both finish one job.
 *
 * Retention: a finished job (READY / FAILED) is forgotten `finishedTtlSeconds` after it finished (default 7 days, as
 * MVAD keeps results; 0 keeps it for ever), so the store does not grow with every command ever sent. Unfinished jobs
 * are kept until they finish. A command redelivered after its job was forgotten would run again — Kafka redelivers
 * uncommitted commands within minutes, not days.
 *
 * Final status delivery: finishing a job marks its record `finalStatusUnsent` in the same write, and the mark is
 * cleared (`finalStatusSent`) once the status topic took the final status. A crash or a broker outage between the
 * two leaves the mark, and the job runner's sweep sends the status again (`listUnsentFinal`), so a client waiting on
 * the topic for the end of a job gets it at least once. These delivery updates are the only ones a finished job takes.
 */
export const DEFAULT_JOB_RETENTION_SECONDS = 7 * 24 * 3600
export const JOB_STATUSES = ['CREATED', 'RUNNING', 'READY', 'FAILED'] as const
export type JobStatus = (typeof JOB_STATUSES)[number]

const ALLOWED: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  CREATED: ['RUNNING', 'FAILED'],
  RUNNING: ['RUNNING', 'READY', 'FAILED'],
  READY: [],
  FAILED: [],
}

export function isFinished(status: JobStatus): boolean {
  return status === 'READY' || status === 'FAILED'
}

export function canMoveJob(from: JobStatus, to: JobStatus): boolean {
  return ALLOWED[from].includes(to)
}

export interface JobRecord {
  jobId: string
  type: string
  status: JobStatus
  /** 0–100. */
  progress: number
  createdTime: string
  lastUpdatedTime: string
  errors: { code: string; message: string }[]
  /** The command as received (JSON). */
  command: unknown
  /** Job-specific outcome (model id and version, result id, …). */
  result?: unknown
  /** Instance running the job and until when its lease holds; an expired lease means the runner died. */
  owner?: string
  leaseUntil?: string
  /** Set by a cancel command; the owner stops the job at its next lease renewal. */
  cancelRequested?: boolean
  /** Set when the job finished, until its final status is on the status topic (see the header). */
  finalStatusUnsent?: true
  /** When an instance last took up sending the final status again (one at a time across instances). */
  finalStatusResendAt?: string
  /** How many times the final status was taken up to be sent again (the sweep waits longer after each). */
  finalStatusAttempts?: number
}

/** The record's fields that are delivery bookkeeping, not part of the job (kept off status messages). */
export function withoutDeliveryMarks(record: JobRecord): JobRecord {
  const { finalStatusUnsent: _unsent, finalStatusResendAt: _resend, finalStatusAttempts: _attempts, ...job } = record
  return job
}

export interface JobUpdate {
  status?: JobStatus
  progress?: number
  errors?: { code: string; message: string }[]
  result?: unknown
  lease?: { owner: string; until: Date }
  cancelRequested?: true
  /** The final status reached the status topic: clears `finalStatusUnsent` (the only updates a finished job takes). */
  finalStatusSent?: true
  /** An instance takes up sending the final status again at this time. */
  finalStatusResend?: Date
}

export type JobUpdateResult =
  | { ok: true; record: JobRecord }
  | { ok: false; reason: 'not_found' | 'illegal_transition' | 'guard_failed'; record?: JobRecord }

/** Checked against the stored record in the same atomic step as the update (e.g. "the lease is still mine"). */
export type JobGuard = (record: JobRecord) => boolean

export interface JobStore {
  /** Creates the job unless its id exists; `created` says which happened. */
  create(jobId: string, type: string, command: unknown, now: Date): Promise<{ created: boolean; record: JobRecord }>
  get(jobId: string): Promise<JobRecord | undefined>
  /** Applies `update` if the status move is allowed and `guard` holds (both checked atomically against the store). */
  update(jobId: string, update: JobUpdate, now: Date, guard?: JobGuard): Promise<JobUpdateResult>
  /** Newest first. */
  list(options?: { status?: JobStatus; limit?: number }): Promise<JobRecord[]>
  /** Finished jobs whose final status is not known to be on the status topic (`finalStatusUnsent`), oldest first. */
  listUnsentFinal(limit: number): Promise<JobRecord[]>
  /** Drops what is left of jobs forgotten after the retention (index entries); returns how many went. */
  forgetExpired(now: Date): Promise<number>
}

export interface JobStoreOptions {
  /** Seconds a finished job is kept (0 = for ever). @defaultValue DEFAULT_JOB_RETENTION_SECONDS */
  finishedTtlSeconds?: number
}

export function applyJobUpdate(record: JobRecord, update: JobUpdate, now: Date): JobRecord | undefined {
  if (isFinished(record.status)) return applyDeliveryUpdate(record, update)
  // Delivery is about a final status: an unfinished job has none to deliver.
  if (update.finalStatusSent !== undefined || update.finalStatusResend !== undefined) return undefined
  const status = update.status ?? record.status
  if (status !== record.status && !canMoveJob(record.status, status)) return undefined
  const finishing = isFinished(status)
  // A finished job keeps its owner (who ran it); its lease meant something only while it ran.
  const { leaseUntil: _lease, ...withoutLease } = record
  return {
    ...(finishing ? { ...withoutLease, finalStatusUnsent: true } : record),
    status,
    progress: Math.max(0, Math.min(100, update.progress ?? (status === 'READY' ? 100 : record.progress))),
    errors: update.errors ?? record.errors,
    ...(update.result === undefined ? {} : { result: update.result }),
    ...(update.lease === undefined || finishing
      ? {}
      : { owner: update.lease.owner, leaseUntil: update.lease.until.toISOString() }),
    ...(update.cancelRequested === undefined ? {} : { cancelRequested: true }),
    lastUpdatedTime: now.toISOString(),
  }
}

/**
 * A finished job takes only delivery updates, and they leave `lastUpdatedTime` alone: it says when the job last
 * changed, and the final status sent again must say the same as the first time.
 */
function applyDeliveryUpdate(record: JobRecord, update: JobUpdate): JobRecord | undefined {
  const { finalStatusSent, finalStatusResend, ...jobChanges } = update
  if (Object.values(jobChanges).some((value) => value !== undefined) || record.finalStatusUnsent !== true)
    return undefined
  if (finalStatusSent === true) return withoutDeliveryMarks(record)
  if (finalStatusResend !== undefined) {
    const attempts = (record.finalStatusAttempts ?? 0) + 1
    return { ...record, finalStatusResendAt: finalStatusResend.toISOString(), finalStatusAttempts: attempts }
  }
  return undefined
}

export function newJobRecord(jobId: string, type: string, command: unknown, now: Date): JobRecord {
  const time = now.toISOString()
  return { jobId, type, status: 'CREATED', progress: 0, createdTime: time, lastUpdatedTime: time, errors: [], command }
}

export class MemoryJobStore implements JobStore {
  /** `expiresAt` (ms on the clock) is set once the job finished, when a retention applies. */
  readonly #jobs = new Map<string, { record: JobRecord; expiresAt?: number }>()
  readonly #ttlMs: number
  readonly #clock: () => number

  constructor(options: JobStoreOptions & { clock?: () => number } = {}) {
    this.#ttlMs = (options.finishedTtlSeconds ?? DEFAULT_JOB_RETENTION_SECONDS) * 1000
    this.#clock = options.clock ?? Date.now
  }

  create(jobId: string, type: string, command: unknown, now: Date): Promise<{ created: boolean; record: JobRecord }> {
    const existing = this.#live(jobId)
    if (existing !== undefined) return Promise.resolve({ created: false, record: structuredClone(existing) })
    const record = newJobRecord(jobId, type, command, now)
    this.#jobs.set(jobId, { record })
    return Promise.resolve({ created: true, record: structuredClone(record) })
  }

  get(jobId: string): Promise<JobRecord | undefined> {
    const record = this.#live(jobId)
    return Promise.resolve(record === undefined ? undefined : structuredClone(record))
  }

  update(jobId: string, update: JobUpdate, now: Date, guard?: JobGuard): Promise<JobUpdateResult> {
    const record = this.#live(jobId)
    if (record === undefined) return Promise.resolve({ ok: false, reason: 'not_found' })
    if (guard !== undefined && !guard(structuredClone(record)))
      return Promise.resolve({ ok: false, reason: 'guard_failed', record: structuredClone(record) })
    const next = applyJobUpdate(record, update, now)
    if (next === undefined)
      return Promise.resolve({ ok: false, reason: 'illegal_transition', record: structuredClone(record) })
    // The retention runs from when the job finished; delivery updates after that do not extend it.
    const expiresAt = isFinished(record.status)
      ? this.#jobs.get(jobId)?.expiresAt
      : isFinished(next.status) && this.#ttlMs > 0
        ? this.#clock() + this.#ttlMs
        : undefined
    this.#jobs.set(jobId, expiresAt === undefined ? { record: next } : { record: next, expiresAt })
    return Promise.resolve({ ok: true, record: structuredClone(next) })
  }

  list(options: { status?: JobStatus; limit?: number } = {}): Promise<JobRecord[]> {
    const all = [...this.#jobs.keys()]
      .map((jobId) => this.#live(jobId))
      .filter((job): job is JobRecord => job !== undefined)
      .filter((job) => options.status === undefined || job.status === options.status)
      .sort((a, b) => b.createdTime.localeCompare(a.createdTime) || a.jobId.localeCompare(b.jobId))
      .slice(0, options.limit ?? 100)
    return Promise.resolve(structuredClone(all))
  }

  listUnsentFinal(limit: number): Promise<JobRecord[]> {
    const unsent = [...this.#jobs.keys()]
      .map((jobId) => this.#live(jobId))
      .filter((job): job is JobRecord => job?.finalStatusUnsent === true)
      .sort((a, b) => a.createdTime.localeCompare(b.createdTime) || a.jobId.localeCompare(b.jobId))
      .slice(0, limit)
    return Promise.resolve(structuredClone(unsent))
  }

  forgetExpired(): Promise<number> {
    const before = this.#jobs.size
    for (const jobId of [...this.#jobs.keys()]) this.#live(jobId)
    return Promise.resolve(before - this.#jobs.size)
  }

  /** The record unless its retention ran out (then it is dropped). */
  #live(jobId: string): JobRecord | undefined {
    const entry = this.#jobs.get(jobId)
    if (entry?.expiresAt !== undefined && entry.expiresAt <= this.#clock()) {
      this.#jobs.delete(jobId)
      return undefined
    }
    return entry?.record
  }
}
