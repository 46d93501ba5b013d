/**
 * Memo of per-row results for detect-last. Consecutive windows of a stream share all rows but one, and a row's
 * per-variable errors (a function of the row and the `lags` rows before it) and its novelty (a function of the row)
 * depend only on those rows' values. Remembering the last few results by content makes each call compute one
 * new row instead of the whole smoothing span. Entries are matched on the values of every key row (0 and −0 alike,
 * see SlidingRows.follows; NaN never), never on object identity, so a hit returns exactly what a recomputation
 * would: results never depend on what was scored before.
 *
 * Each key may sit in any of WAYS consecutive slots from its hash, and a miss replaces the least recently used of
 * them: with one slot per hash, two rows of the same window that collide evict each other on every call and are
 * recomputed every time (3.4 novelty computations per call instead of 1 with a 20-row span, 12 with 79 rows).
 */
const WAYS = 4

export class RowMemo {
  readonly #keys: Float64Array[]
  readonly #values: Float64Array[]
  /** Per slot: the lookup count when it was last hit or stored (0 = empty). */
  readonly #lastUsed: Float64Array
  #clock = 0
  readonly #d: number
  readonly #keyRows: number
  readonly #mask: number
  #slot = 0

  /**
   * Keys are `keyRows` consecutive rows of `d` values; values are `valueSize` numbers. `slots` is rounded up to a
   * power of two; keep it a few times the lookups of one call.
   */
  constructor(d: number, keyRows: number, valueSize: number, slots: number) {
    let size = WAYS
    while (size < slots) size <<= 1
    this.#keys = Array.from({ length: size }, () => new Float64Array(d * keyRows))
    this.#values = Array.from({ length: size }, () => new Float64Array(valueSize))
    this.#lastUsed = new Float64Array(size)
    this.#d = d
    this.#keyRows = keyRows
    this.#mask = size - 1
  }

  /**
   * The remembered value for rows[last − keyRows + 1 .. last], or undefined; either way the slot is kept for a
   * following `store`. The returned buffer belongs to the memo: read it before the next call.
   */
  lookup(rows: readonly Float64Array[], last: number, rowHashes: Uint32Array): Float64Array | undefined {
    const first = last - this.#keyRows + 1
    let h = 0x811c9dc5
    for (let r = first; r <= last; r++) h = Math.imul(h ^ (rowHashes[r] as number), 0x01000193)
    const home = h >>> 0
    const clock = ++this.#clock
    let victim = home & this.#mask
    for (let way = 0; way < WAYS; way++) {
      const slot = (home + way) & this.#mask
      const lastUsed = this.#lastUsed[slot] as number
      if (lastUsed > 0 && this.#matches(this.#keys[slot] as Float64Array, rows, first)) {
        this.#lastUsed[slot] = clock
        return this.#values[slot]
      }
      if (lastUsed < (this.#lastUsed[victim] as number)) victim = slot
    }
    this.#slot = victim
    return undefined
  }

  /** After a missed `lookup` of the same rows: records them as the key and returns the buffer to write the value to. */
  store(rows: readonly Float64Array[], last: number): Float64Array {
    const first = last - this.#keyRows + 1
    const key = this.#keys[this.#slot] as Float64Array
    for (let r = 0; r < this.#keyRows; r++) key.set(rows[first + r] as Float64Array, r * this.#d)
    this.#lastUsed[this.#slot] = this.#clock
    return this.#values[this.#slot] as Float64Array
  }

  #matches(key: Float64Array, rows: readonly Float64Array[], first: number): boolean {
    const d = this.#d
    for (let r = 0; r < this.#keyRows; r++) {
      const row = rows[first + r] as Float64Array
      const offset = r * d
      for (let j = 0; j < d; j++) if (key[offset + j] !== row[j]) return false
    }
    return true
  }
}

/**
 * FNV-1a hashes of rows (over their 32-bit words), computed once per call and shared by every memo's lookups
 * (`lookup` combines the hashes of its key rows).
 */
export class RowHasher {
  readonly #row: Float64Array
  readonly #words: Uint32Array

  constructor(d: number) {
    this.#row = new Float64Array(d)
    this.#words = new Uint32Array(this.#row.buffer)
  }

  hash(row: Float64Array): number {
    this.#row.set(row)
    const words = this.#words
    let h = 0x811c9dc5
    for (let i = 0; i < words.length; i++) h = Math.imul(h ^ (words[i] as number), 0x01000193)
    return h >>> 0
  }
}

/**
 * One number per row for the last `length` rows of the previous detect-last call, with copies of those rows and,
 * where the caller had them, `kinds` derived rows of d numbers per row (the scaled row, the row's errors). A
 * stream's next window is the previous one moved by a row: when rows[last − length + 1 .. last − 1] equal the kept
 * rows from the second on (value for value), their numbers and derived rows are reused as they are and only the
 * newest row needs them. Cheaper than a RowMemo lookup per row (no hashing) when a value reads many rows, as the
 * held novelty does. A derived row that reads rows before its own (the errors read `lags` of them) is only valid
 * while those rows are kept too: the caller checks that (see `derived`).
 */
export class SlidingRows {
  readonly #rows: Float64Array[]
  /** Per kind, per ring slot. */
  readonly #derived: Float64Array[][]
  /** Per kind, per ring slot: 1 when #derived holds that row's derived row. */
  readonly #hasDerived: Uint8Array[]
  readonly #values: Float64Array
  readonly #length: number
  readonly #d: number
  /** Ring position of the oldest kept row. */
  #head = 0
  #filled = false

  constructor(d: number, length: number, kinds = 1) {
    this.#length = length
    this.#d = d
    this.#rows = Array.from({ length }, () => new Float64Array(d))
    this.#derived = Array.from({ length: kinds }, () => Array.from({ length }, () => new Float64Array(d)))
    this.#hasDerived = Array.from({ length: kinds }, () => new Uint8Array(length))
    this.#values = new Float64Array(length)
  }

  /**
   * True when rows[last − length + 1 .. last − 1] are the kept rows moved by one (the previous window plus one row),
   * value for value. 0 and −0 count as equal: the numbers kept for a row (its novelty, its scaled values) only reach
   * a result through squares, absolute values and sums, where the sign of a zero never shows (a unit test holds the
   * scorer to that). NaN never matches, so a window holding one is simply recomputed.
   */
  follows(rows: readonly Float64Array[], last: number): boolean {
    if (!this.#filled) return false
    const n = this.#length
    const d = this.#d
    for (let r = 1; r < n; r++) {
      const kept = this.#rows[(this.#head + r) % n] as Float64Array
      const row = rows[last - n + r] as Float64Array
      if (row.length !== d) return false
      for (let j = 0; j < d; j++) if (kept[j] !== row[j]) return false
    }
    return true
  }

  /**
   * After `follows` was true: drops the oldest row and keeps `row` with `value` as the newest, with no derived rows
   * yet (`setDerived` adds them).
   */
  push(row: Float64Array, value: number): void {
    const slot = this.#head
    ;(this.#rows[slot] as Float64Array).set(row)
    this.#values[slot] = value
    for (const has of this.#hasDerived) has[slot] = 0
    this.#head = (this.#head + 1) % this.#length
  }

  /**
   * Keeps rows[last − length + 1 .. last] with `values` (same order, oldest first) and the derived rows
   * `derivedOf(r, kind)` gives for them (r oldest first; undefined where the caller has none).
   */
  reset(
    rows: readonly Float64Array[],
    last: number,
    values: ArrayLike<number>,
    derivedOf: (r: number, kind: number) => Float64Array | undefined = () => undefined,
  ): void {
    const n = this.#length
    for (let r = 0; r < n; r++) {
      ;(this.#rows[r] as Float64Array).set(rows[last - n + 1 + r] as Float64Array)
      this.#values[r] = values[r] as number
      for (let kind = 0; kind < this.#derived.length; kind++) {
        const derived = derivedOf(r, kind)
        if (derived === undefined) (this.#hasDerived[kind] as Uint8Array)[r] = 0
        else this.#setSlot(kind, r, derived)
      }
    }
    this.#head = 0
    this.#filled = true
  }

  /** The derived row of kept row r (oldest first) of `kind`, or undefined when it was not kept. Read-only. */
  derived(r: number, kind = 0): Float64Array | undefined {
    const slot = (this.#head + r) % this.#length
    return (this.#hasDerived[kind] as Uint8Array)[slot] === 1
      ? (this.#derived[kind] as Float64Array[])[slot]
      : undefined
  }

  /** Records (copies) the derived row of kept row r (oldest first) of `kind`. */
  setDerived(r: number, derived: Float64Array, kind = 0): void {
    this.#setSlot(kind, (this.#head + r) % this.#length, derived)
  }

  /** Copies the kept values, oldest first, into `out`. */
  copyValues(out: Float64Array): void {
    const n = this.#length
    for (let r = 0; r < n; r++) out[r] = this.#values[(this.#head + r) % n] as number
  }

  #setSlot(kind: number, slot: number, derived: Float64Array): void {
    ;((this.#derived[kind] as Float64Array[])[slot] as Float64Array).set(derived)
    ;(this.#hasDerived[kind] as Uint8Array)[slot] = 1
  }
}

/**
 * SlidingRows for several streams at once: one model often scores many entities, whose windows arrive
 * interleaved, and a single carry would be replaced on every call. Carries are found by the hash of their newest
 * row (the new window's second newest, when the window follows one), confirmed by `follows`, and the least recently
 * used one is reused when `capacity` are in use. Content only, as everywhere in detect-last: a window gets the same
 * result whichever carry, if any, it meets.
 */
export class SlidingRowsPool {
  readonly #byNewestRow = new Map<number, SlidingRows>()
  readonly #d: number
  readonly #length: number
  readonly #capacity: number

  readonly #kinds: number

  /** Carries of `length` rows of d values, each with `kinds` derived rows per row (see SlidingRows). */
  constructor(d: number, length: number, capacity: number, kinds = 1) {
    this.#d = d
    this.#length = length
    this.#capacity = Math.max(1, capacity)
    this.#kinds = kinds
  }

  /** The carry that `rows` (window ending at `last`; `rowHashes` as RowHasher gives them) follows, or undefined. */
  following(rows: readonly Float64Array[], last: number, rowHashes: Uint32Array): SlidingRows | undefined {
    const key = rowHashes[last - 1] as number
    const carry = this.#byNewestRow.get(key)
    if (carry === undefined || !carry.follows(rows, last)) return undefined
    this.#byNewestRow.delete(key)
    return carry
  }

  /**
   * Files `carry` (one returned by `following` and pushed, or undefined for a fresh one, reset here with `values`)
   * under the window's newest row, as the most recently used.
   */
  keep(
    rows: readonly Float64Array[],
    last: number,
    rowHashes: Uint32Array,
    carry: SlidingRows | undefined,
    values: ArrayLike<number>,
    derivedOf?: (r: number, kind: number) => Float64Array | undefined,
  ): void {
    let kept = carry
    if (kept === undefined) {
      if (this.#byNewestRow.size >= this.#capacity) {
        const [oldestKey, oldest] = this.#byNewestRow.entries().next().value as [number, SlidingRows]
        this.#byNewestRow.delete(oldestKey)
        kept = oldest
      } else {
        kept = new SlidingRows(this.#d, this.#length, this.#kinds)
      }
      kept.reset(rows, last, values, derivedOf)
    }
    this.#byNewestRow.set(rowHashes[last] as number, kept)
  }
}
