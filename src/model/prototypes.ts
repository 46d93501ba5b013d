/**
 * Novelty part of the detector: how far a (scaled) row is from the states seen in training. Training rows are
 * summarised by at most K prototypes — the distinct rows themselves when there are few (flag-like telemetry such
 * as command channels often has a few dozen states), else k-means centroids (seeded k-means++ start, then Lloyd
 * iterations). A row's novelty is its Euclidean distance to the nearest prototype. Values are clipped to
 * ±NOVELTY_CLIP first, so one channel far outside its training range cannot hide every other channel.
 * Pure and deterministic for a seed.
 */
import { seededRandom } from './random.js'

export const NOVELTY_CLIP = 10
const LLOYD_ITERATIONS = 8

export interface Prototypes {
  /** count × d, row-major. */
  values: Float64Array
  count: number
  d: number
}

/** Writes `z` clipped to ±NOVELTY_CLIP into `out`. */
export function clipRow(z: ArrayLike<number>, out: Float64Array): void {
  for (let j = 0; j < out.length; j++) {
    const v = z[j] as number
    out[j] = v > NOVELTY_CLIP ? NOVELTY_CLIP : v < -NOVELTY_CLIP ? -NOVELTY_CLIP : v
  }
}

/** Squared distance from `z` to prototype `index`, abandoned (returning a value > bound) once it exceeds `bound`. */
export function squaredDistance(p: Prototypes, index: number, z: ArrayLike<number>, bound: number): number {
  const offset = index * p.d
  let sum = 0
  for (let j = 0; j < p.d; j++) {
    const e = (z[j] as number) - (p.values[offset + j] as number)
    sum += e * e
    if (sum > bound) return sum // strictly: a result ≤ bound is exact, so ties resolve the same from any hint
  }
  return sum
}

/**
 * Index of the prototype nearest to `z` (the lowest index among equals). `hint` is tried first: the nearest
 * prototype of the previous row usually is close, which lets most other candidates be abandoned early.
 */
export function nearestPrototype(p: Prototypes, z: ArrayLike<number>, hint = 0): number {
  let best = hint >= 0 && hint < p.count ? hint : 0
  let bestDistance = squaredDistance(p, best, z, Number.POSITIVE_INFINITY)
  for (let c = 0; c < p.count; c++) {
    if (c === best) continue
    const distance = squaredDistance(p, c, z, bestDistance)
    if (distance < bestDistance || (distance === bestDistance && c < best)) {
      best = c
      bestDistance = distance
    }
  }
  return best
}

/**
 * Measures rows' novelty against a set of prototypes: clips the (scaled) row, finds the nearest prototype (starting
 * from the previous row's, which only speeds the search: ties resolve to the lowest index whatever the start) and
 * keeps the clipped row and that prototype for a caller that splits the distance by variable.
 */
export class NoveltyMeter {
  readonly clipped: Float64Array
  /** Index of the prototype nearest to the last measured row. */
  nearest = 0

  constructor(readonly prototypes: Prototypes) {
    this.clipped = new Float64Array(prototypes.d)
  }

  /** Squared distance from the clipped `z` to its nearest prototype. */
  squared(z: ArrayLike<number>): number {
    clipRow(z, this.clipped)
    this.nearest = nearestPrototype(this.prototypes, this.clipped, this.nearest)
    return squaredDistance(this.prototypes, this.nearest, this.clipped, Number.POSITIVE_INFINITY)
  }

  /** Distance from the clipped `z` to its nearest prototype: the row's novelty. */
  measure(z: ArrayLike<number>): number {
    return Math.sqrt(this.squared(z))
  }
}

/**
 * Prototypes of `rows` (already clipped): the distinct rows when there are at most `maxDistinct` and they recur
 * (on average twice or more: the states of flags and quantised channels), else `maxCentroids` k-means centroids.
 * maxDistinct = 0 gives none (novelty off). Without the recurrence test, 256 rows of continuous data were 256
 * distinct rows, each its own prototype: the training novelty was 0 throughout, and any new row novel.
 */
export function fitPrototypes(
  rows: readonly Float64Array[],
  maxDistinct: number,
  maxCentroids: number,
  seed: number,
): Prototypes {
  const d = rows[0]?.length ?? 0
  if (maxDistinct === 0 || rows.length === 0) return { values: new Float64Array(0), count: 0, d }
  const distinct = new Map<string, Float64Array>()
  for (const row of rows) {
    const key = row.join(',')
    if (!distinct.has(key)) distinct.set(key, row)
  }
  const unique = [...distinct.values()]
  if (unique.length <= maxDistinct && 2 * unique.length <= rows.length) {
    const values = new Float64Array(unique.length * d)
    unique.forEach((row, i) => values.set(row, i * d))
    return { values, count: unique.length, d }
  }
  const k = Math.max(1, Math.min(maxCentroids, unique.length))
  const p: Prototypes = { values: new Float64Array(k * d), count: 0, d }
  seedCentroids(p, unique, k, seededRandom(seed))
  lloyd(p, rows)
  return p
}

/** k-means++: each next centroid is a distinct row drawn with probability ∝ squared distance to the nearest so far. */
function seedCentroids(p: Prototypes, unique: readonly Float64Array[], k: number, random: () => number): void {
  const add = (row: Float64Array): void => {
    p.values.set(row, p.count * p.d)
    p.count++
  }
  add(unique[Math.floor(random() * unique.length)] as Float64Array)
  const nearest = unique.map((row) => squaredDistance(p, 0, row, Number.POSITIVE_INFINITY))
  while (p.count < k) {
    let total = 0
    for (const v of nearest) total += v
    if (!(total > 0)) break
    let u = random() * total
    let chosen = nearest.length - 1
    for (let i = 0; i < nearest.length; i++) {
      u -= nearest[i] as number
      if (u <= 0 && (nearest[i] as number) > 0) {
        chosen = i
        break
      }
    }
    add(unique[chosen] as Float64Array)
    const last = p.count - 1
    for (let i = 0; i < unique.length; i++) {
      const current = nearest[i] as number
      const distance = squaredDistance(p, last, unique[i] as Float64Array, current)
      if (distance < current) nearest[i] = distance
    }
  }
}

/** Lloyd iterations over every row (duplicates weigh as often as they occur); an emptied centroid stays put. */
function lloyd(p: Prototypes, rows: readonly Float64Array[]): void {
  const sums = new Float64Array(p.count * p.d)
  const counts = new Float64Array(p.count)
  for (let iteration = 0; iteration < LLOYD_ITERATIONS; iteration++) {
    sums.fill(0)
    counts.fill(0)
    let hint = 0
    for (const row of rows) {
      hint = nearestPrototype(p, row, hint)
      counts[hint] = (counts[hint] as number) + 1
      const offset = hint * p.d
      for (let j = 0; j < p.d; j++) sums[offset + j] = (sums[offset + j] as number) + (row[j] as number)
    }
    for (let c = 0; c < p.count; c++) {
      const n = counts[c] as number
      if (n === 0) continue
      for (let j = 0; j < p.d; j++) p.values[c * p.d + j] = (sums[c * p.d + j] as number) / n
    }
  }
}
