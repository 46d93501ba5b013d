/**
 * Correlation changes of an anomalous row's contributors (MVAD `correlationChanges.changedVariables`): the variables
 * whose correlation with the contributor inside the window (scaled values) moved furthest from training
 * (|Δρ| ≥ correlationChange, at most MAX_CHANGED_VARIABLES, largest first).
 *
 * The window's deviations from its means are stored by variable once (`measure`) and shared by every contributor,
 * whose correlations then read two contiguous columns each: an anomalous row reads each value once there instead of
 * once per contributor, and a window of a long incident is interpreted on every arriving row. detect-last and
 * detect-batch run the same sums in the same order, so they agree bit for bit.
 */

const MAX_CHANGED_VARIABLES = 5

/**
 * Scratch shared by every scorer of this thread, grown to the largest model met — 2 × d × W numbers (14 MB at 301
 * variables and 2,880 rows): the scaled window of a detect-last call, then the deviations by variable. A process
 * serving many models keeps one, not one per model. Safe because scoring is synchronous (no call can interleave with
 * another; worker threads have their own module state).
 */
let sharedScratch = new Float64Array(0)

function scratchOf(size: number): Float64Array {
  if (sharedScratch.length < size) sharedScratch = new Float64Array(size)
  return sharedScratch
}

export class WindowCorrelations {
  readonly #variables: readonly string[]
  readonly #d: number
  readonly #rows: number
  readonly #training: Float64Array
  readonly #threshold: number
  readonly #means: Float64Array
  readonly #squares: Float64Array
  /** Views of this shape on the shared scratch, remade when it grows. */
  #viewed: Float64Array | undefined
  #scratchRows: Float64Array[] = []
  #deviations: Float64Array = new Float64Array(0)

  /** `training`: the d × d training correlations (row-major); `rows`: the window length W. */
  constructor(variables: readonly string[], rows: number, training: Float64Array, threshold: number) {
    this.#variables = variables
    this.#d = variables.length
    this.#rows = rows
    this.#training = training
    this.#threshold = threshold
    this.#means = new Float64Array(this.#d)
    this.#squares = new Float64Array(this.#d)
  }

  /** W rows of d numbers in the shared scratch, to scale a window into (read them before the next `measure`). */
  scratchRows(): Float64Array[] {
    this.#view()
    return this.#scratchRows
  }

  /** Means, sums of squares and deviations by variable of a window's W scaled rows (may be `scratchRows()`). */
  measure(scaled: readonly Float64Array[]): void {
    this.#view()
    const d = this.#d
    const n = this.#rows
    const means = this.#means
    const squares = this.#squares
    const deviations = this.#deviations
    // Row by row (each row's values lie together), every variable's sums still over the rows in order.
    means.fill(0)
    for (let t = 0; t < n; t++) {
      const row = scaled[t] as Float64Array
      for (let k = 0; k < d; k++) means[k] = (means[k] as number) + (row[k] as number) / n
    }
    squares.fill(0)
    for (let t = 0; t < n; t++) {
      const row = scaled[t] as Float64Array
      for (let k = 0; k < d; k++) {
        const deviation = (row[k] as number) - (means[k] as number)
        deviations[k * n + t] = deviation
        squares[k] = (squares[k] as number) + deviation * deviation
      }
    }
  }

  /** The changed variables of contributor j in the window last measured. */
  changedVariables(j: number): string[] {
    const d = this.#d
    const n = this.#rows
    const squares = this.#squares
    const deviations = this.#deviations // a local: the loop below is the hot one of an anomalous row
    const varJ = squares[j] as number
    const offsetJ = j * n
    const changes: { variable: string; delta: number }[] = []
    for (let k = 0; k < d; k++) {
      if (k === j) continue
      const offsetK = k * n
      // Four running sums (rows t ≡ 0..3 mod 4), added at the end: one sum would wait on each addition in turn.
      let cov0 = 0
      let cov1 = 0
      let cov2 = 0
      let cov3 = 0
      let t = 0
      for (; t + 3 < n; t += 4) {
        cov0 += (deviations[offsetK + t] as number) * (deviations[offsetJ + t] as number)
        cov1 += (deviations[offsetK + t + 1] as number) * (deviations[offsetJ + t + 1] as number)
        cov2 += (deviations[offsetK + t + 2] as number) * (deviations[offsetJ + t + 2] as number)
        cov3 += (deviations[offsetK + t + 3] as number) * (deviations[offsetJ + t + 3] as number)
      }
      for (; t < n; t++) cov0 += (deviations[offsetK + t] as number) * (deviations[offsetJ + t] as number)
      const cov = cov0 + cov1 + (cov2 + cov3)
      const denominator = Math.sqrt(varJ * (squares[k] as number))
      const now = denominator > 1e-12 ? cov / denominator : 0
      const delta = Math.abs(now - (this.#training[j * d + k] as number))
      if (delta >= this.#threshold) changes.push({ variable: this.#variables[k] as string, delta })
    }
    return changes
      .sort((a, b) => b.delta - a.delta || a.variable.localeCompare(b.variable))
      .slice(0, MAX_CHANGED_VARIABLES)
      .map((c) => c.variable)
  }

  #view(): void {
    const d = this.#d
    const n = this.#rows
    const scratch = scratchOf(2 * d * n)
    if (scratch === this.#viewed) return
    this.#scratchRows = Array.from({ length: n }, (_, t) => scratch.subarray(t * d, (t + 1) * d))
    this.#deviations = scratch.subarray(d * n, 2 * d * n)
    this.#viewed = scratch
  }
}
