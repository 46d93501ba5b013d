/**
 * A log line about dead letters, at most once per interval: counts by reason and the first example of each. The
 * counter (mvad_dead_letters_total) says how many; an operator reading the log also needs to see *what* producers
 * get wrong (an unbound entity, a misnamed variable) without reading the topic. Pure: the caller logs.
 */
export interface DeadLetterSummary {
  seconds: number
  counts: Record<string, number>
  examples: Record<string, { detail: string; key: string | null }>
}

export class DeadLetterLog {
  readonly #intervalMs: number
  readonly #emit: (summary: DeadLetterSummary) => void
  readonly #now: () => number
  #since: number
  #counts = new Map<string, number>()
  #examples = new Map<string, { detail: string; key: string | null }>()

  constructor(emit: (summary: DeadLetterSummary) => void, intervalMs = 60_000, now: () => number = Date.now) {
    this.#emit = emit
    this.#intervalMs = intervalMs
    this.#now = now
    this.#since = now()
  }

  /** Counts one dead letter; emits the summary when the interval since the last one has passed. */
  add(reason: string, detail: string, key: string | null): void {
    // After a quiet spell the window starts with this letter, and a letter after a full quiet interval is said at once.
    if (this.#counts.size === 0 && this.#now() - this.#since < this.#intervalMs) this.#since = this.#now()
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1)
    // Keys and details are bounded upstream (1 KB keys, 2,000-character details); a short example is enough here.
    if (!this.#examples.has(reason))
      this.#examples.set(reason, { detail: detail.slice(0, 300), key: key?.slice(0, 256) ?? null })
    this.flushIfDue()
  }

  /** Emits the summary if the interval has passed (or, with `force`, at once: the service is stopping). */
  flushIfDue(force = false): void {
    const now = this.#now()
    if (this.#counts.size === 0 || (!force && now - this.#since < this.#intervalMs)) return
    this.#emit({
      seconds: Math.round((now - this.#since) / 1000),
      counts: Object.fromEntries(this.#counts),
      examples: Object.fromEntries(this.#examples),
    })
    this.#counts = new Map()
    this.#examples = new Map()
    this.#since = now
  }
}
