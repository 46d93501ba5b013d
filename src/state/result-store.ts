/**
 * ResultStore port: detect-batch results in MVAD's shape (`{resultId, summary, results}`), kept for a configurable
 * time (MVAD keeps them 7 days), written when the job starts (summary CREATED/RUNNING) and again when it ends.
 */
export interface BatchSummary {
  status: 'CREATED' | 'RUNNING' | 'READY' | 'FAILED'
  errors: { code: string; message: string }[]
  variableStates: unknown[]
  setupInfo: {
    dataSource: string
    topContributorCount: number
    startTime: string
    endTime: string
  }
}

export interface BatchResultRecord {
  resultId: string
  summary: BatchSummary
  /** MVAD AnomalyState rows on the wire (ISO timestamps). */
  results: unknown[]
  modelId: string
  modelVersion: number
  /** Failed input records (e.g. undecodable readings): partition, offset, reason. */
  failedRecords?: unknown[]
  charts?: string[]
}

export interface ResultStore {
  put(record: BatchResultRecord, ttlSeconds: number): Promise<void>
  get(resultId: string): Promise<BatchResultRecord | undefined>
}

export class MemoryResultStore implements ResultStore {
  readonly #records = new Map<string, { json: string; expiresAt: number }>()
  readonly #now: () => number

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  put(record: BatchResultRecord, ttlSeconds: number): Promise<void> {
    this.#records.set(record.resultId, { json: JSON.stringify(record), expiresAt: this.#now() + ttlSeconds * 1000 })
    return Promise.resolve()
  }

  get(resultId: string): Promise<BatchResultRecord | undefined> {
    const entry = this.#records.get(resultId)
    if (entry === undefined || entry.expiresAt <= this.#now()) {
      this.#records.delete(resultId)
      return Promise.resolve(undefined)
    }
    return Promise.resolve(JSON.parse(entry.json) as BatchResultRecord)
  }
}
