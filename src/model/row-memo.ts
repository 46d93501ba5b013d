/**
 * Memo of per-row results for detect-last. Consecutive windows of a stream share all rows but one, and a row's
 * per-variable errors (a function of the row and the `lags` rows before it) and its novelty (a function of the row)
 * depend only on those rows' values. Remembering the last few results by content makes each call compute one
 * new row instead of the whole smoothing span. Entries are matched on the exact values of every key row (bit for
 * bit), never on object identity, so a hit returns exactly what a recomputation would: results never depend on
 * what was scored before.
 */
export class RowMemo {
  readonly #keys: Float64Array[]
  readonly #values: Float64Array[]
  readonly #used: Uint8Array
  readonly #d: number
  readonly #keyRows: number
  readonly #mask: number
  #slot = 0

  /**
   * Keys are `keyRows` consecutive rows of `d` values; values are `valueSize` numbers. `slots` is rounded up to a
   * power of two; keep it a few times the lookups of one call.
   */
  constructor(d: number, keyRows: number, valueSize: number, slots: number) {
    let size = 1
    while (size < slots) size <<= 1
    this.#keys = Array.from({ length: size }, () => new Float64Array(d * keyRows))
    this.#values = Array.from({ length: size }, () => new Float64Array(valueSize))
    this.#used = new Uint8Array(size)
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
    this.#slot = (h >>> 0) & this.#mask
    const slot = this.#slot
    if (this.#used[slot] === 1 && this.#matches(this.#keys[slot] as Float64Array, rows, first)) {
      return this.#values[slot]
    }
    return undefined
  }

  /** After a missed `lookup` of the same rows: records them as the key and returns the buffer to write the value to. */
  store(rows: readonly Float64Array[], last: number): Float64Array {
    const first = last - this.#keyRows + 1
    const key = this.#keys[this.#slot] as Float64Array
    for (let r = 0; r < this.#keyRows; r++) key.set(rows[first + r] as Float64Array, r * this.#d)
    this.#used[this.#slot] = 1
    return this.#values[this.#slot] as Float64Array
  }

  #matches(key: Float64Array, rows: readonly Float64Array[], first: number): boolean {
    const d = this.#d
    for (let r = 0; r < this.#keyRows; r++) {
      const row = rows[first + r] as Float64Array
      for (let j = 0; j < d; j++) if (!Object.is(key[r * d + j], row[j])) return false
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
