/** Seeded synthetic series for model tests (no Math.random: results must be reproducible). */
import type { AlignedSeries } from '../../../src/domain/types.js'

export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0
    return state / 4294967296
  }
}

export function syntheticSeries(rows: number, variables: number, seed = 1): AlignedSeries {
  const random = seededRandom(seed)
  const data = Array.from({ length: rows }, (_, t) =>
    Float64Array.from(
      { length: variables },
      (_, j) => Math.sin(t / 9 + j) + 0.5 * Math.sin(t / 3 + 2 * j) + 0.2 * random(),
    ),
  )
  return {
    variables: Array.from({ length: variables }, (_, j) => `v${j}`),
    timestamps: data.map((_, t) => Date.UTC(2024, 0, 1) + t * 60_000),
    rows: data,
    variableStates: [],
  }
}
