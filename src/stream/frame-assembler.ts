/**
 * Alignment on the stream, per entity (pure; no I/O).
 *
 * Readings of one timestamp are gathered into a frame. Frames leave strictly in timestamp order: the earliest
 * pending frame leaves when every model variable has arrived, or when the entity's watermark (largest timestamp
 * seen) is more than `allowedLatenessMs` past it — then its missing variables are filled (see `fillMissing`).
 * A later frame never overtakes an earlier pending one, so the window downstream is always in time order.
 *
 * A reading is *late* when its timestamp is at or before the last frame already emitted (its frame was scored
 * without it) or older than the watermark minus the allowed lateness; late readings are returned to the caller,
 * which dead-letters them — never dropped silently.
 *
 * Offsets: each pending frame remembers the smallest Kafka offset among its readings, so the worker can commit
 * only up to the oldest reading not yet persisted in a window (`oldestPendingOffset`).
 */
import type { EpochMs } from '../domain/types.js'

export interface PendingReading {
  variable: string
  timestamp: EpochMs
  value: number
  offset: bigint
}

export interface CompletedFrame {
  timestamp: EpochMs
  /** Values in the order of the model's variables; NaN where the variable never arrived. */
  values: Float64Array
  /** How many variables were missing (to be filled). */
  missing: number
  /** Largest offset among the frame's readings. */
  maxOffset: bigint
}

export type LateReason = 'late_after_emit' | 'late_beyond_lateness'

export interface LateReading {
  reading: PendingReading
  reason: LateReason
}

interface PendingFrame {
  values: Float64Array
  arrived: number
  minOffset: bigint
  maxOffset: bigint
}

export class FrameAssembler {
  readonly #variableIndex: ReadonlyMap<string, number>
  readonly #variableCount: number
  readonly #allowedLatenessMs: number
  readonly #pending = new Map<EpochMs, PendingFrame>()
  /** Pending timestamps kept sorted ascending; small in practice (bounded by lateness / arrival skew). */
  #order: EpochMs[] = []
  #watermark: EpochMs
  #lastEmitted: EpochMs

  /**
   * @param variables the model's variables, in model column order
   * @param lastEmitted timestamp of the last frame already in the entity's window (-Infinity when none)
   */
  constructor(variables: readonly string[], allowedLatenessMs: number, lastEmitted: EpochMs = -Infinity) {
    this.#variableIndex = new Map(variables.map((name, index) => [name, index]))
    this.#variableCount = variables.length
    this.#allowedLatenessMs = allowedLatenessMs
    this.#watermark = lastEmitted
    this.#lastEmitted = lastEmitted
  }

  get watermark(): EpochMs {
    return this.#watermark
  }

  get lastEmitted(): EpochMs {
    return this.#lastEmitted
  }

  get pendingFrames(): number {
    return this.#pending.size
  }

  hasVariable(variable: string): boolean {
    return this.#variableIndex.has(variable)
  }

  /** Smallest offset of any reading held in a pending frame, or undefined when nothing is pending. */
  oldestPendingOffset(): bigint | undefined {
    let oldest: bigint | undefined
    for (const frame of this.#pending.values())
      if (oldest === undefined || frame.minOffset < oldest) oldest = frame.minOffset
    return oldest
  }

  /**
   * Adds one reading. Returns a LateReading when it cannot be used, otherwise undefined. Unknown variables must be
   * filtered by the caller (hasVariable). A repeated variable in a pending frame keeps the latest value.
   */
  add(reading: PendingReading): LateReading | undefined {
    if (reading.timestamp <= this.#lastEmitted) return { reading, reason: 'late_after_emit' }
    if (reading.timestamp < this.#watermark - this.#allowedLatenessMs)
      return { reading, reason: 'late_beyond_lateness' }
    const column = this.#variableIndex.get(reading.variable)
    if (column === undefined) throw new Error(`unknown variable ${reading.variable}: filter with hasVariable first`)
    let frame = this.#pending.get(reading.timestamp)
    if (frame === undefined) {
      frame = {
        values: new Float64Array(this.#variableCount).fill(Number.NaN),
        arrived: 0,
        minOffset: reading.offset,
        maxOffset: reading.offset,
      }
      this.#pending.set(reading.timestamp, frame)
      this.#insertOrdered(reading.timestamp)
    }
    if (Number.isNaN(frame.values[column])) frame.arrived += 1
    frame.values[column] = reading.value
    if (reading.offset < frame.minOffset) frame.minOffset = reading.offset
    if (reading.offset > frame.maxOffset) frame.maxOffset = reading.offset
    if (reading.timestamp > this.#watermark) this.#watermark = reading.timestamp
    return undefined
  }

  /**
   * Removes and returns every reading held in pending frames (e.g. to re-feed them to the assembler of a new model
   * after a binding change). Each keeps its frame's smallest offset, so commits stay conservative.
   */
  takePending(variables: readonly string[]): PendingReading[] {
    const readings = this.pendingReadings(variables)
    this.#pending.clear()
    this.#order = []
    return readings
  }

  /** The readings held in pending frames, as takePending gives them, left in place. */
  pendingReadings(variables: readonly string[]): PendingReading[] {
    const readings: PendingReading[] = []
    for (const timestamp of this.#order) {
      const frame = this.#pending.get(timestamp) as PendingFrame
      frame.values.forEach((value, column) => {
        const variable = variables[column]
        if (!Number.isNaN(value) && variable !== undefined) {
          readings.push({ variable, timestamp, value, offset: frame.minOffset })
        }
      })
    }
    return readings
  }

  /** Emits every frame that is ready, in timestamp order. */
  drain(): CompletedFrame[] {
    const out: CompletedFrame[] = []
    while (this.#order.length > 0) {
      const timestamp = this.#order[0] as EpochMs
      const frame = this.#pending.get(timestamp) as PendingFrame
      const complete = frame.arrived === this.#variableCount
      const expired = this.#watermark - timestamp > this.#allowedLatenessMs
      if (!complete && !expired) break
      this.#order.shift()
      this.#pending.delete(timestamp)
      out.push(this.#emit(timestamp, frame))
    }
    return out
  }

  #emit(timestamp: EpochMs, frame: PendingFrame): CompletedFrame {
    this.#lastEmitted = timestamp
    return { timestamp, values: frame.values, missing: this.#variableCount - frame.arrived, maxOffset: frame.maxOffset }
  }

  /**
   * Emits every pending frame, complete or not, in timestamp order: the end of a bounded input (batch replay), where
   * no later reading can complete them. Missing values are NaN, counted in `missing`, as for expired frames.
   */
  flush(): CompletedFrame[] {
    const out = this.drain()
    for (const timestamp of this.#order) {
      out.push(this.#emit(timestamp, this.#pending.get(timestamp) as PendingFrame))
    }
    this.#pending.clear()
    this.#order = []
    return out
  }

  #insertOrdered(timestamp: EpochMs): void {
    const order = this.#order
    // Readings arrive mostly in order: append is the common case.
    if (order.length === 0 || (order[order.length - 1] as EpochMs) < timestamp) {
      order.push(timestamp)
      return
    }
    let lo = 0
    let hi = order.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((order[mid] as EpochMs) < timestamp) lo = mid + 1
      else hi = mid
    }
    order.splice(lo, 0, timestamp)
  }
}

/**
 * Fills a frame's missing values from the previous window row. On a stream the future is unknown when a frame must
 * be scored, so Previous, Linear and Subsequent all carry the last known value forward (MVAD's Linear also copies
 * the nearest value into trailing gaps); Zero and Fixed use their constant. Returns a new array.
 */
export function fillMissing(
  values: Float64Array,
  previousRow: Float64Array | undefined,
  method: 'Previous' | 'Subsequent' | 'Linear' | 'Zero' | 'Fixed',
  paddingValue: number,
): Float64Array {
  const filled = Float64Array.from(values)
  for (let j = 0; j < filled.length; j++) {
    if (!Number.isNaN(filled[j])) continue
    if (method === 'Zero') filled[j] = 0
    else if (method === 'Fixed') filled[j] = paddingValue
    else filled[j] = previousRow?.[j] ?? 0
  }
  return filled
}

/** The variables (in model column order) whose value a frame lacks: NaN where no reading arrived. */
export function missingVariables(values: Float64Array, variables: readonly string[]): string[] {
  return variables.filter((_, column) => Number.isNaN(values[column]))
}
