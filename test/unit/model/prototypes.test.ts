import { describe, expect, it } from 'vitest'
import {
  NOVELTY_CLIP,
  clipRow,
  fitPrototypes,
  nearestPrototype,
  squaredDistance,
  type Prototypes,
} from '../../../src/model/prototypes.js'
import { seededRandom } from '../../../src/model/random.js'

const rows = (...values: number[][]): Float64Array[] => values.map((v) => Float64Array.from(v))

describe('prototypes', () => {
  it('keeps the distinct rows themselves, in first-seen order, when there are at most k and they recur', () => {
    const p = fitPrototypes(rows([0, 1], [2, 3], [0, 1], [2, 3], [5, 5], [0, 1]), 4, 4, 42)
    expect(p.count).toBe(3)
    expect(Array.from(p.values)).toEqual([0, 1, 2, 3, 5, 5])
  })

  it('clusters rows that do not recur (continuous data), however few: each its own prototype would hide novelty', () => {
    const continuous = rows([0, 0], [0.1, 0], [0, 0.1], [10, 10], [10.1, 10], [10, 10.1])
    const p = fitPrototypes(continuous, 256, 2, 42)
    expect(p.count).toBe(2)
    const centroids = [Array.from(p.values.subarray(0, 2)), Array.from(p.values.subarray(2, 4))].sort(
      (a, b) => (a[0] as number) - (b[0] as number),
    )
    expect(centroids[0]?.map((v) => Number(v.toFixed(6)))).toEqual([0.033333, 0.033333])
    expect(centroids[1]?.map((v) => Number(v.toFixed(6)))).toEqual([10.033333, 10.033333])
  })

  it('k = 0 gives no prototypes', () => {
    expect(fitPrototypes(rows([1, 2]), 0, 0, 1).count).toBe(0)
  })

  it('measures squared distances by hand and abandons past the bound', () => {
    const p: Prototypes = { values: Float64Array.from([0, 0, 3, 4]), count: 2, d: 2 }
    expect(squaredDistance(p, 1, [0, 0], Number.POSITIVE_INFINITY)).toBe(25)
    expect(squaredDistance(p, 1, [0, 0], 5)).toBe(9) // abandoned after the first coordinate: 9 > 5
    expect(squaredDistance(p, 1, [3, 0], 16)).toBe(16) // equal to the bound: computed in full
  })

  it('finds the nearest prototype, the lowest index among equals, whatever the hint', () => {
    const p: Prototypes = { values: Float64Array.from([1, 0, -1, 0, 5, 5]), count: 3, d: 2 }
    for (const hint of [0, 1, 2]) {
      expect(nearestPrototype(p, [0, 0], hint)).toBe(0) // tie between 0 and 1
      expect(nearestPrototype(p, [4, 4], hint)).toBe(2)
      expect(nearestPrototype(p, [-0.9, 0.2], hint)).toBe(1)
    }
  })

  it('clips to ±NOVELTY_CLIP', () => {
    const out = new Float64Array(3)
    clipRow([-50, 3, 50], out)
    expect(Array.from(out)).toEqual([-NOVELTY_CLIP, 3, NOVELTY_CLIP])
  })

  it('k-means is deterministic for a seed and puts centroids on separated clusters', () => {
    const random = seededRandom(3)
    const data = Array.from({ length: 600 }, (_, i) => {
      const centre = [0, 10, 20][i % 3] as number
      return Float64Array.from([centre + random() - 0.5, -centre + random() - 0.5])
    })
    const a = fitPrototypes(data, 3, 3, 7)
    const b = fitPrototypes(data, 3, 3, 7)
    expect(a.count).toBe(3)
    expect(Array.from(a.values)).toEqual(Array.from(b.values))
    const centres = Array.from({ length: 3 }, (_, c) => Math.round(a.values[c * 2] as number) + 0).sort((x, y) => x - y)
    expect(centres).toEqual([0, 10, 20])
  })
})
