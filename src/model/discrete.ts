/**
 * Two-state channels (flags, on/off commands, and channels constant in training) get a categorical error model
 * instead of the Gaussian residuals the continuous channels get.
 *
 * Why: a flag's forecast and reconstruction residuals are spikes whose size depends only on the spread floor, so a
 * flag that never moved in training produced the largest error the model allows every time it flipped, and a
 * flag that flips routinely looked like noise of arbitrary size. What matters for a flag is how surprising the
 * transition is, so its error is the surprisal −ln P(x_t | x_{t−1}) of a first-order Markov chain fitted on the
 * training rows with the Krichevsky–Trofimov estimate (add ½ to every count):
 *   P(b | a) = (n_ab + ½) / (n_a + ½·(K + 1))      a seen in training (K = states seen, +1 for "a new value")
 *   P(b | a) = (n_b + ½) / (n + ½·(K + 1))         a new: the marginal, as nothing is known about a
 * A flag that sits still costs about 0, a routine flip a few nats, a transition never seen about ln(2n): bounded
 * and independent of the channel's units. A channel that moves to a new value and stays there keeps paying, as a
 * machine stuck in a state never seen is still anomalous.
 *
 * The model part is the largest error over the variables, so a flag's cost must be that of *any* of the K two-state
 * channels doing something that unlikely: −ln min(1, K·P) = max(0, −ln P − ln K) (a Bonferroni bound; nothing
 * changes for K = 1). The continuous channels need no such term, as their errors move in training and the model
 * part's scale τ is calibrated on the training maximum over all of them; a transition never seen cannot show in
 * training, and with dozens of command flags (the NASA channels have 24 or 54) one of them flipping in a new way is
 * expected every few thousand rows (KT gives each about ½ such event per training length).
 *
 * How new a value is depends on how far it is from the training states: with g its distance to the nearest one
 * and u the unit (half the gap between the two states, or MIN_UNIT for a channel constant in training), it counts
 * as new with weight w = min(1, g/u) and as that nearest state with weight 1 − w, and the surprisal interpolates
 * the table bilinearly over the previous and current values. A setpoint that moved from 0.999 to 1 is then
 * nearly its old state, not a new one on every row; a value halfway between the two states of a flag is new.
 */

/** Most distinct training values a channel may have to be modelled as categorical. */
export const MAX_DISCRETE_STATES = 2
/** Krichevsky–Trofimov pseudo-count. */
const PSEUDO_COUNT = 0.5
/** Unit of distance (scaled values) for a channel with one training state: the scaler's smallest spread. */
const MIN_UNIT = 0.1

/** One categorical channel of a model state (values are in scaled units, as the scorer sees them). */
export interface DiscreteChannel {
  /** Index of the variable. */
  variable: number
  /** The K distinct scaled values seen in training, ascending. */
  states: number[]
  /**
   * (K + 1) × (K + 1), row-major: surprisal of moving from state a (row) to state b (column); index K is a value
   * not seen in training.
   */
  surprisal: number[]
}

/**
 * Fits a channel for every variable of `scaled` with at most MAX_DISCRETE_STATES distinct values; the surprisals
 * are family-wise (less ln K for K channels, floored at 0; see the header).
 */
export function fitDiscreteChannels(scaled: readonly Float64Array[], d: number): DiscreteChannel[] {
  const channels: DiscreteChannel[] = []
  const n = scaled.length
  for (let j = 0; j < d; j++) {
    const distinct = new Set<number>()
    for (const row of scaled) {
      distinct.add(row[j] as number)
      if (distinct.size > MAX_DISCRETE_STATES) break
    }
    if (distinct.size > MAX_DISCRETE_STATES || n < 2) continue
    const states = [...distinct].sort((a, b) => a - b)
    const k = states.length
    const size = k + 1
    const pairs = new Float64Array(size * size)
    const from = new Float64Array(size)
    const marginal = new Float64Array(size)
    for (let t = 0; t < n; t++) {
      const b = states.indexOf(scaled[t]?.[j] as number)
      marginal[b] = (marginal[b] as number) + 1
      if (t === 0) continue
      const a = states.indexOf(scaled[t - 1]?.[j] as number)
      pairs[a * size + b] = (pairs[a * size + b] as number) + 1
      from[a] = (from[a] as number) + 1
    }
    const surprisal: number[] = new Array<number>(size * size)
    for (let a = 0; a < size; a++) {
      for (let b = 0; b < size; b++) {
        const probability =
          a < k
            ? ((pairs[a * size + b] as number) + PSEUDO_COUNT) / ((from[a] as number) + PSEUDO_COUNT * size)
            : ((marginal[b] as number) + PSEUDO_COUNT) / (n + PSEUDO_COUNT * size)
        surprisal[a * size + b] = -Math.log(probability)
      }
    }
    channels.push({ variable: j, states, surprisal })
  }
  const familyDiscount = Math.log(Math.max(1, channels.length))
  for (const channel of channels) channel.surprisal = channel.surprisal.map((s) => Math.max(0, s - familyDiscount))
  return channels
}

/**
 * Flattened lookup for the scorer: `slot[j]` is the channel index of variable j or −1 when j is continuous.
 * Kept apart from DiscreteChannel so the per-row path reads typed arrays only.
 */
export interface DiscreteLookup {
  slot: Int32Array
  states: Float64Array[]
  surprisal: Float64Array[]
  /** Per channel: the distance at which a value counts as wholly new. */
  unit: Float64Array
}

export function discreteLookup(channels: readonly DiscreteChannel[], d: number): DiscreteLookup {
  const slot = new Int32Array(d).fill(-1)
  channels.forEach((c, i) => {
    slot[c.variable] = i
  })
  return {
    slot,
    states: channels.map((c) => Float64Array.from(c.states)),
    surprisal: channels.map((c) => Float64Array.from(c.surprisal)),
    unit: Float64Array.from(channels, (c) =>
      c.states.length >= 2
        ? Math.max(((c.states[c.states.length - 1] as number) - (c.states[0] as number)) / 2, Number.MIN_VALUE)
        : MIN_UNIT,
    ),
  }
}

/** Index of the training state nearest to `value` (ties: the lower state). */
function nearestState(states: Float64Array, value: number): number {
  let nearest = 0
  let gap = Number.POSITIVE_INFINITY
  for (let s = 0; s < states.length; s++) {
    const g = Math.abs(value - (states[s] as number))
    if (g < gap) {
      gap = g
      nearest = s
    }
  }
  return nearest
}

/** How far `value` is from the nearest training state, in units (0 at a state; NaN stays NaN). */
function unitsFrom(states: Float64Array, unit: number, value: number, nearest: number): number {
  return Math.abs(value - (states[nearest] as number)) / unit
}

/** How new a value `distance` units from its nearest state is: rising linearly to 1 at one unit (NaN: 1). */
function newness(distance: number): number {
  return distance <= 1 ? distance : 1
}

/** How far `value` is from every training state of channel `index`, in the channel's units (0 at a state). */
export function distanceFromStates(lookup: DiscreteLookup, index: number, value: number): number {
  const states = lookup.states[index] as Float64Array
  return unitsFrom(states, lookup.unit[index] as number, value, nearestState(states, value))
}

/** Surprisal of moving from `previous` to `current` on channel `index` of `lookup`. */
export function transitionSurprisal(lookup: DiscreteLookup, index: number, previous: number, current: number): number {
  const states = lookup.states[index] as Float64Array
  const table = lookup.surprisal[index] as Float64Array
  const unit = lookup.unit[index] as number
  const k = states.length
  const size = k + 1
  const a = nearestState(states, previous)
  const b = nearestState(states, current)
  const wa = newness(unitsFrom(states, unit, previous, a))
  const wb = newness(unitsFrom(states, unit, current, b))
  return (
    (1 - wa) * (1 - wb) * (table[a * size + b] as number) +
    (1 - wa) * wb * (table[a * size + k] as number) +
    wa * (1 - wb) * (table[k * size + b] as number) +
    wa * wb * (table[k * size + k] as number)
  )
}
