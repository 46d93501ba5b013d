import { describe, expect, it } from 'vitest'
import {
  discreteLookup,
  distanceFromStates,
  fitDiscreteChannels,
  transitionSurprisal,
} from '../../../src/model/discrete.js'
import { createScorer, fitModel, loadModelState } from '../../../src/model/index.js'
import type { AlignedSeries } from '../../../src/domain/types.js'
import { seededRandom, syntheticSeries } from './synthetic.js'

const column = (values: number[], others: number[][] = []): Float64Array[] =>
  values.map((v, t) => Float64Array.from([v, ...others.map((o) => o[t] as number)]))

describe('fitDiscreteChannels (hand-computed Krichevsky–Trofimov surprisals)', () => {
  it('fits a flag: transition counts + ½ over (from-count + ½·3), the marginal for an unseen previous value', () => {
    // 0 0 0 1 1 0: transitions 0→0 ×2, 0→1, 1→1, 1→0; from 0: 3, from 1: 2; marginal 0: 4, 1: 2 (n = 6).
    const [flag] = fitDiscreteChannels(column([0, 0, 0, 1, 1, 0]), 1)
    expect(flag?.variable).toBe(0)
    expect(flag?.states).toEqual([0, 1])
    const expected = [
      [2.5 / 4.5, 1.5 / 4.5, 0.5 / 4.5], // from 0: to 0, to 1, to an unseen value
      [1.5 / 3.5, 1.5 / 3.5, 0.5 / 3.5], // from 1
      [4.5 / 7.5, 2.5 / 7.5, 0.5 / 7.5], // from an unseen value: marginal
    ].flat()
    expect(flag?.surprisal).toHaveLength(9)
    flag?.surprisal.forEach((s, i) => expect(s).toBeCloseTo(-Math.log(expected[i] as number), 12))
  })

  it('fits a channel constant in training (one state) and skips channels with more than two values', () => {
    const channels = fitDiscreteChannels(column([5, 5, 5, 5], [[0.1, 0.2, 0.3, 0.4]]), 2)
    expect(channels).toHaveLength(1)
    expect(channels[0]?.variable).toBe(0)
    expect(channels[0]?.states).toEqual([5])
    // from 5: 3 transitions 5→5 → P(5|5) = 3.5/4, P(other|5) = 0.5/4; unseen previous: P(5) = 4.5/5, P(other) = 0.5/5.
    expect(channels[0]?.surprisal.map((s) => Math.exp(-s))).toEqual(
      [3.5 / 4, 0.5 / 4, 4.5 / 5, 0.5 / 5].map((p) => expect.closeTo(p, 12) as unknown),
    )
  })

  it('makes surprisals family-wise: less ln K with K two-state channels, never below 0', () => {
    // The flag of the first test next to a constant channel and a continuous one: K = 2.
    const [flag, constant] = fitDiscreteChannels(
      column(
        [0, 0, 0, 1, 1, 0],
        [
          [7, 7, 7, 7, 7, 7],
          [0.1, 0.5, 0.2, 0.9, 0.3, 0.4],
        ],
      ),
      3,
    )
    expect([flag?.variable, constant?.variable]).toEqual([0, 1])
    const single = [2.5 / 4.5, 1.5 / 4.5, 0.5 / 4.5, 1.5 / 3.5, 1.5 / 3.5, 0.5 / 3.5, 4.5 / 7.5, 2.5 / 7.5, 0.5 / 7.5]
    expect(flag?.surprisal).toHaveLength(9)
    flag?.surprisal.forEach((s, i) =>
      expect(s).toBeCloseTo(Math.max(0, -Math.log(single[i] as number) - Math.log(2)), 12),
    )
    // 7→7 has P = 5.5/6 (surprisal 0.087 < ln 2): floored at 0; 7→new: ln 12 − ln 2 = ln 6.
    expect(constant?.surprisal[0]).toBe(0)
    expect(constant?.surprisal[1]).toBeCloseTo(Math.log(6), 12)
  })

  it('looks transitions up by exact value, any other value being the unseen state', () => {
    const channels = fitDiscreteChannels(column([0, 0, 0, 1, 1, 0]), 1)
    const lookup = discreteLookup(channels, 1)
    expect(lookup.slot).toEqual(Int32Array.from([0]))
    expect(transitionSurprisal(lookup, 0, 0, 1)).toBeCloseTo(Math.log(3), 12)
    expect(transitionSurprisal(lookup, 0, 1, 0.5)).toBeCloseTo(Math.log(7), 12)
    expect(transitionSurprisal(lookup, 0, 7, 1)).toBeCloseTo(Math.log(3), 12) // unseen previous: marginal 2.5/7.5
  })

  it('counts a value near a training state partly as that state (bilinear in how new each value is)', () => {
    const flag = discreteLookup(fitDiscreteChannels(column([0, 0, 0, 1, 1, 0]), 1), 1)
    // Unit = half the gap between the states = 0.5; 0.25 is half new, its nearest state 0.
    expect(transitionSurprisal(flag, 0, 0, 0.25)).toBeCloseTo(0.5 * -Math.log(2.5 / 4.5) + 0.5 * Math.log(9), 12)
    // Both values half new: ¼ of each of 0→0, 0→new, new→0 (marginal 4.5/7.5) and new→new (0.5/7.5).
    expect(transitionSurprisal(flag, 0, 0.25, 0.25)).toBeCloseTo(
      0.25 * (-Math.log(2.5 / 4.5) + Math.log(9) - Math.log(4.5 / 7.5) + Math.log(15)),
      12,
    )
    // A channel constant in training: unit 0.1, so 5.01 is one tenth new and 5.2 wholly new.
    const constant = discreteLookup(fitDiscreteChannels(column([5, 5, 5, 5]), 1), 1)
    expect(transitionSurprisal(constant, 0, 5, 5.01)).toBeCloseTo(0.9 * -Math.log(3.5 / 4) + 0.1 * Math.log(8), 10)
    expect(transitionSurprisal(constant, 0, 5.2, 5.2)).toBeCloseTo(Math.log(10), 12)
  })

  it('measures how far a value is from the training states in the channel unit (ranking contributors)', () => {
    const flag = discreteLookup(fitDiscreteChannels(column([0, 0, 0, 1, 1, 0]), 1), 1)
    expect(distanceFromStates(flag, 0, 1)).toBe(0)
    expect(distanceFromStates(flag, 0, 0.25)).toBeCloseTo(0.5, 12)
    expect(distanceFromStates(flag, 0, -1)).toBeCloseTo(2, 12)
    const constant = discreteLookup(fitDiscreteChannels(column([5, 5, 5, 5]), 1), 1)
    expect(distanceFromStates(constant, 0, 5.2)).toBeCloseTo(2, 10)
  })
})

/** Two continuous channels and a flag that toggles every 40 rows; `stuckFlag` adds a flag constant at 0. */
function seriesWithFlags(rows: number, seed: number): AlignedSeries {
  const random = seededRandom(seed)
  const data = Array.from({ length: rows }, (_, t) =>
    Float64Array.from([Math.sin(t / 7) + 0.2 * random(), Math.cos(t / 11) + 0.2 * random(), Math.floor(t / 40) % 2, 0]),
  )
  return {
    variables: ['a', 'b', 'mode', 'alarm'],
    timestamps: data.map((_, t) => Date.UTC(2024, 0, 1) + t * 60_000),
    rows: data,
    variableStates: [],
  }
}

describe('two-state channels in the model', () => {
  const W = 28
  const { state, diagnostics } = fitModel(seriesWithFlags(800, 1), { slidingWindow: W })
  const scorer = createScorer(state)

  it('records the flags (and only them) in the state, which round-trips through JSON', () => {
    expect(state.payload.discreteChannels.map((c) => c.variable)).toEqual([2, 3])
    expect(diagnostics.twoStateChannels).toEqual(['mode', 'alarm'])
    const json = JSON.parse(JSON.stringify(state)) as unknown // (JSON writes −0 as 0)
    expect(loadModelState(json)).toEqual(json)
  })

  it('keeps a routine toggle quiet, flags a flag never raised in training and names it', () => {
    const test = seriesWithFlags(200, 2).rows.map((row) => Float64Array.from(row))
    const routine = scorer.scoreSeries(test, 2)
    expect(routine.filter((v) => v?.isAnomaly === true)).toHaveLength(0)
    for (let t = 120; t < 140; t++) (test[t] as Float64Array)[3] = 1
    const raised = scorer.scoreSeries(test, 2)
    expect(raised[121]?.isAnomaly).toBe(true)
    expect(raised[121]?.interpretation[0]?.variable).toBe('alarm')
  })

  it('gives detect-batch and detect-last bit-identical results with flags', () => {
    const random = seededRandom(5)
    const rows = seriesWithFlags(90, 3).rows.map((row) => {
      const out = Float64Array.from(row)
      if (random() < 0.1) out[2] = 1 - (out[2] as number)
      if (random() < 0.05) out[3] = 1
      return out
    })
    const batch = scorer.scoreSeries(rows, 4)
    for (let i = W - 1; i < rows.length; i++)
      expect(scorer.scoreLast(rows.slice(i - W + 1, i + 1), 4)).toEqual(batch[i])
  })

  it('refuses malformed channels and loads version-2 states with none', () => {
    const broken = (patch: (channels: Record<string, unknown>[]) => void): unknown => {
      const copy = JSON.parse(JSON.stringify(state)) as { payload: { discreteChannels: Record<string, unknown>[] } }
      patch(copy.payload.discreteChannels)
      return copy
    }
    expect(() => loadModelState(broken((c) => ((c[0] as Record<string, unknown>).variable = 9)))).toThrow(
      'payload.discreteChannels[0].variable must be a variable index below 4',
    )
    expect(() => loadModelState(broken((c) => ((c[1] as Record<string, unknown>).variable = 2)))).toThrow(
      'repeats variable 2',
    )
    expect(() => loadModelState(broken((c) => ((c[0] as Record<string, unknown>).states = [0, 1, 2])))).toThrow(
      'payload.discreteChannels[0].states must hold 1–2 values',
    )
    expect(() => loadModelState(broken((c) => ((c[0] as Record<string, unknown>).surprisal = [1])))).toThrow(
      'payload.discreteChannels[0].surprisal',
    )
    const v2 = JSON.parse(JSON.stringify(fitModel(syntheticSeries(200, 3, 8), { slidingWindow: W }).state)) as {
      version: number
      payload: Record<string, unknown>
    }
    v2.version = 2
    delete v2.payload.discreteChannels
    expect(loadModelState(v2).payload.discreteChannels).toEqual([])
  })
})
