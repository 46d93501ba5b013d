/**
 * The frames the stream integration tests send, on a one-minute grid from T0, two variables a and b, and the events
 * they read back (windowMeanModel states of window 4).
 */
import type { AnomalyEvent } from '../../src/stream/anomaly-event.js'

export const T0 = Date.UTC(2024, 0, 1)
export const MINUTE = 60_000
export const VARIABLES = ['a', 'b']

/** A windowMeanModel state (window 4) that calls a window anomalous past `threshold`. */
export const meanModelState = (threshold: number): string =>
  JSON.stringify({ variables: VARIABLES, slidingWindow: 4, threshold })

/** Frame `i` (T0 + i minutes) of `entity`. */
export const frame = (entity: string, i: number, a: number, b = 0): { key: string; value: string } => ({
  key: entity,
  value: JSON.stringify({ timestamp: T0 + i * MINUTE, values: { a, b } }),
})

export const parseEvent = (value: Buffer): AnomalyEvent => JSON.parse(value.toString()) as AnomalyEvent
