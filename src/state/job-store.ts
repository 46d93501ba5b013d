/**
 * JobStore port: control-plane jobs (train, detect-batch, deploy, delete-model, cancel) and their status.
 * Idempotent by jobId: creating a job whose id exists returns the existing record (a redelivered command never runs
 * twice). Status moves CREATED → RUNNING → READY | FAILED (CREATED → FAILED too, for a cancel or a refusal); any
 * other move is refused, so two workers cannot both finish one job.
 */
export const JOB_STATUSES = ['CREATED', 'RUNNING', 'READY', 'FAILED'] as const
export type JobStatus = (typeof JOB_STATUSES)[number]

const ALLOWED: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  CREATED: ['RUNNING', 'FAILED'],
  RUNNING: ['RUNNING', 'READY', 'FAILED'],
  READY: [],
  FAILED: [],
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
}

export interface JobUpdate {
  status?: JobStatus
  progress?: number
  errors?: { code: string; message: string }[]
  result?: unknown
  lease?: { owner: string; until: Date }
  cancelRequested?: true
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
}

export function applyJobUpdate(record: JobRecord, update: JobUpdate, now: Date): JobRecord | undefined {
  const status = update.status ?? record.status
  if (status !== record.status && !canMoveJob(record.status, status)) return undefined
  if (status === record.status && (status === 'READY' || status === 'FAILED')) return undefined
  return {
    ...record,
    status,
    progress: Math.max(0, Math.min(100, update.progress ?? (status === 'READY' ? 100 : record.progress))),
    errors: update.errors ?? record.errors,
    ...(update.result === undefined ? {} : { result: update.result }),
    ...(update.lease === undefined ? {} : { owner: update.lease.owner, leaseUntil: update.lease.until.toISOString() }),
    ...(update.cancelRequested === undefined ? {} : { cancelRequested: true }),
    lastUpdatedTime: now.toISOString(),
  }
}

export function newJobRecord(jobId: string, type: string, command: unknown, now: Date): JobRecord {
  const time = now.toISOString()
  return { jobId, type, status: 'CREATED', progress: 0, createdTime: time, lastUpdatedTime: time, errors: [], command }
}

export class MemoryJobStore implements JobStore {
  readonly #jobs = new Map<string, JobRecord>()

  create(jobId: string, type: string, command: unknown, now: Date): Promise<{ created: boolean; record: JobRecord }> {
    const existing = this.#jobs.get(jobId)
    if (existing !== undefined) return Promise.resolve({ created: false, record: structuredClone(existing) })
    const record = newJobRecord(jobId, type, command, now)
    this.#jobs.set(jobId, record)
    return Promise.resolve({ created: true, record: structuredClone(record) })
  }

  get(jobId: string): Promise<JobRecord | undefined> {
    const record = this.#jobs.get(jobId)
    return Promise.resolve(record === undefined ? undefined : structuredClone(record))
  }

  update(jobId: string, update: JobUpdate, now: Date, guard?: JobGuard): Promise<JobUpdateResult> {
    const record = this.#jobs.get(jobId)
    if (record === undefined) return Promise.resolve({ ok: false, reason: 'not_found' })
    if (guard !== undefined && !guard(structuredClone(record)))
      return Promise.resolve({ ok: false, reason: 'guard_failed', record: structuredClone(record) })
    const next = applyJobUpdate(record, update, now)
    if (next === undefined)
      return Promise.resolve({ ok: false, reason: 'illegal_transition', record: structuredClone(record) })
    this.#jobs.set(jobId, next)
    return Promise.resolve({ ok: true, record: structuredClone(next) })
  }

  list(options: { status?: JobStatus; limit?: number } = {}): Promise<JobRecord[]> {
    const all = [...this.#jobs.values()]
      .filter((job) => options.status === undefined || job.status === options.status)
      .sort((a, b) => b.createdTime.localeCompare(a.createdTime) || a.jobId.localeCompare(b.jobId))
      .slice(0, options.limit ?? 100)
    return Promise.resolve(structuredClone(all))
  }
}
