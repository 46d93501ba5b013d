import { describe, expect, it } from 'vitest'
import type { AlignedSeries } from '../../../src/domain/types.js'
import { createScorer, fitModel } from '../../../src/model/index.js'
import { seededRandom, syntheticSeries } from './synthetic.js'

const W = 28

describe('scorer', () => {
  const train = syntheticSeries(600, 4, 3)
  const { state } = fitModel(train, { slidingWindow: W })
  const scorer = createScorer(state)
  // Test rows: the same process, with two injected faults.
  const test = syntheticSeries(200, 4, 9).rows.map((row) => Float64Array.from(row))
  for (let t = 80; t < 90; t++) (test[t] as Float64Array)[2] = 6
  for (let t = 150; t < 153; t++) (test[t] as Float64Array)[0] = -5

  it('gives detect-batch and detect-last bit-identical results for every row', () => {
    const batch = scorer.scoreSeries(test, 3)
    expect(batch.slice(0, W - 1).every((v) => v === null)).toBe(true)
    for (let i = W - 1; i < test.length; i++) {
      expect(scorer.scoreLast(test.slice(i - W + 1, i + 1), 3)).toEqual(batch[i])
    }
  })

  it('gives a window the same result whatever was scored before (the detect-last memo never leaks)', () => {
    const fresh = createScorer(state)
    const windows = Array.from({ length: 40 }, (_, i) => test.slice(100 + i, 100 + i + W))
    const inOrder = windows.map((w) => scorer.scoreLast(w))
    const reversed = [...windows].reverse().map((w) => fresh.scoreLast(w.map((row) => Float64Array.from(row))))
    expect(reversed.reverse()).toEqual(inOrder)
  })

  it('scores interleaved streams (entities sharing a model) as it scores each alone', () => {
    const other = syntheticSeries(200, 4, 31).rows.map((row) => Float64Array.from(row))
    const shared = createScorer(state)
    const interleaved: ReturnType<typeof shared.scoreLast>[][] = [[], []]
    for (let i = 0; i + W <= 120; i++) {
      interleaved[0]?.push(shared.scoreLast(test.slice(i, i + W)))
      interleaved[1]?.push(shared.scoreLast(other.slice(i, i + W)))
    }
    const alone = [test, other].map((series) => {
      const own = createScorer(state)
      return Array.from({ length: 120 - W + 1 }, (_, i) => own.scoreLast(series.slice(i, i + W)))
    })
    expect(interleaved).toEqual(alone)
  })

  it('scores a window the same whether its zeros are 0 or −0 (the carry takes them as equal)', () => {
    // Variable 3 is 0 in two rows of three, so its centre is 0 and −0 stays −0 once scaled.
    const withZeros = (series: readonly Float64Array[], zero: number): Float64Array[] =>
      series.map((row, t) => {
        const copy = Float64Array.from(row)
        if (t % 3 !== 2) copy[3] = zero
        return copy
      })
    const sparseTrain = { ...train, rows: withZeros(train.rows, 0) }
    const sparseState = fitModel(sparseTrain, { slidingWindow: W }).state
    expect(sparseState.payload.center[3]).toBe(0)
    const positive = withZeros(test, 0)
    const negative = withZeros(test, -0)
    const following = createScorer(sparseState)
    for (let i = 60; i < 100; i++) {
      following.scoreLast(positive.slice(i - W, i)) // the carry keeps +0 rows...
      const moved = following.scoreLast(negative.slice(i - W + 1, i + 1)) // ...that the −0 window follows
      expect(moved).toEqual(createScorer(sparseState).scoreLast(negative.slice(i - W + 1, i + 1)))
    }
  })

  /**
   * Scores windows i − 1 and i (a fresh carry, then one followed), then window i + 1 changed at `positions` (rows the
   * carry does not check), and compares with a fresh scorer: a carried number that read those rows would differ.
   */
  function expectNoStaleCarry(params: Parameters<typeof fitModel>[1], positions: readonly number[]): void {
    const short = fitModel(train, { slidingWindow: W, noveltySmoothing: 2, noveltyHold: 3, ...params }).state
    for (let i = 60; i < 80; i++) {
      const following = createScorer(short)
      following.scoreLast(test.slice(i - W - 1, i - 1))
      following.scoreLast(test.slice(i - W, i))
      const next = test.slice(i - W + 1, i + 1).map((row) => Float64Array.from(row))
      for (const position of positions) (next[position] as Float64Array)[i % 4] = 3
      expect(following.scoreLast(next)).toEqual(createScorer(short).scoreLast(next))
    }
  }

  it("reuses a carried row's errors only while the rows they read are carried too (short novelty reach)", () => {
    // Reach 2 + 3 − 1 = 4 rows, span max(lags 2 + smoothing 5, 4) = 7: the errors of the oldest carried rows read
    // span rows 1 and 2 (window positions W − 6, W − 5), which the carry does not check.
    expectNoStaleCarry({ volatilityWindow: 0 }, [W - 6, W - 5])
  })

  it("reuses a carried row's squared changes only while the row before it is carried too", () => {
    // Reach 4 rows, span max(7, 4, volatilityWindow 10 + 1) = 11: the change of the oldest carried row reads the row
    // before the carry (span row 6, window position W − 5), which the carry does not check.
    expectNoStaleCarry({ volatilityWindow: 10 }, [W - 5])
  })

  it('uses a novelty part: a state never seen in training raises the score', () => {
    expect(state.payload.prototypeCount).toBeGreaterThan(0)
    const window = test.slice(0, W).map((row) => Float64Array.from(row))
    const before = scorer.scoreLast(window).score
    for (let t = W - 20; t < W; t++) (window[t] as Float64Array).fill(3) // every variable at once, held
    expect(scorer.scoreLast(window).score).toBeGreaterThan(before)
  })

  it('holds the novelty peak for noveltyHold rows, identically in detect-last and detect-batch', () => {
    const window = 100
    // The novelty part against the model part alone (the burst's volatility would add a part of its own).
    const held = fitModel(train, { slidingWindow: window, noveltyHold: 60, volatilityWindow: 0 }).state
    const unheld = fitModel(train, { slidingWindow: window, noveltyHold: 1, volatilityWindow: 0 }).state
    const rows = syntheticSeries(400, 4, 21).rows.map((row) => Float64Array.from(row))
    for (let t = 200; t < 205; t++) (rows[t] as Float64Array)[1] = 8 // a 5-row burst never seen in training
    const heldScores = createScorer(held).scoreSeries(rows, 4)
    const unheldScores = createScorer(unheld).scoreSeries(rows, 4)
    // Raw scores (score = 2s / (s + θ), so s = θ·score / (2 − score)).
    const raw = (list: typeof heldScores, threshold: number, t: number): number => {
      const score = list[t]?.score ?? Number.NaN
      return (threshold * score) / (2 - score)
    }
    const heldRaw = (t: number): number => raw(heldScores, held.payload.threshold, t)
    const unheldRaw = (t: number): number => raw(unheldScores, unheld.payload.threshold, t)
    // noveltySmoothing is 20: the 20-row means that hold the whole burst end at rows 204–219. Without a hold the
    // burst has left the novelty part by row 224; held over 60 rows, a row up to 219 + 59 = 278 still sees it.
    for (const t of [230, 250, 275]) expect(heldRaw(t)).toBeGreaterThan(3 * unheldRaw(t))
    expect(heldRaw(290)).toBeLessThan(0.25 * heldRaw(275))
    expect(heldRaw(290)).toBeLessThan(2 * unheldRaw(290))
    // While held, the burst's variable is still named first, though its row is long out of the smoothing span.
    expect(heldScores[240]?.interpretation[0]?.variable).toBe('v1')
    const scorer = createScorer(held)
    for (let i = window - 1; i < rows.length; i++) {
      expect(scorer.scoreLast(rows.slice(i - window + 1, i + 1), 4)).toEqual(heldScores[i])
    }
  })

  it("uses a volatility part: it rises with a variable's swings, not with its level, and names the variable", () => {
    const fitted = fitModel(train, { slidingWindow: 100 }).state
    // The volatility part alone: the other parts divided by an infinite scale.
    const { scoreScale } = fitted.payload
    const alone = {
      ...fitted,
      payload: {
        ...fitted.payload,
        scoreScale: { ...scoreScale, model: Infinity, novelty: Infinity, stillness: Infinity },
      },
    }
    const scorer = createScorer(alone)
    const part = (rows: Float64Array[], t: number): number => {
      const score = scorer.scoreSeries(rows, 4)[t]?.score ?? Number.NaN
      return (fitted.payload.threshold * score) / (2 - score)
    }
    const base = syntheticSeries(300, 4, 21).rows.map((row) => Float64Array.from(row))
    const random = seededRandom(7)
    const noisy = base.map((row, t) =>
      Float64Array.from(row, (v, j) => (j === 3 && t >= 200 && t < 260 ? v + 0.8 * (random() - 0.5) : v)),
    )
    const shifted = base.map((row, t) => Float64Array.from(row, (v, j) => (j === 3 && t >= 200 ? v + 3 : v)))
    const before = part(base, 250)
    expect(part(noisy, 250)).toBeGreaterThan(1.5 * before) // 50 rows into the swings: v3 at 1.8 ζ, was 0.9
    expect(part(noisy, 150)).toBe(part(base, 150)) // before them, unchanged
    expect(part(shifted, 250)).toBeCloseTo(before, 12) // a level shift 50 rows back is out of the 40-row span
    const value = createScorer(fitted).scoreSeries(noisy, 4)[250]
    const named = value?.interpretation.map((c) => c.variable) ?? []
    expect(value?.isAnomaly).toBe(true)
    expect(named[0]).toBe('v3')
    const whole = createScorer(fitted)
    const batch = whole.scoreSeries(noisy, 4)
    for (let i = 180; i < 300; i++) expect(whole.scoreLast(noisy.slice(i - 99, i + 1), 4)).toEqual(batch[i])
  })

  it('uses a stillness part: a variable that stops moving raises it, is named, and scores alike in both paths', () => {
    const fitted = fitModel(train, { slidingWindow: 100 }).state
    const { scoreScale } = fitted.payload
    const only = { ...scoreScale, model: Infinity, novelty: Infinity, volatility: Infinity }
    const scorer = createScorer({ ...fitted, payload: { ...fitted.payload, scoreScale: only } })
    const part = (rows: Float64Array[], t: number): number => {
      const score = scorer.scoreSeries(rows, 4)[t]?.score ?? Number.NaN
      return (fitted.payload.threshold * score) / (2 - score)
    }
    const base = syntheticSeries(300, 4, 21).rows.map((row) => Float64Array.from(row))
    // v1 freezes at its value of row 200 (a stuck sensor): every value it shows was seen in training.
    const stuck = base.map((row, t) =>
      Float64Array.from(row, (v, j) => (j === 1 && t >= 200 ? ((base[200] as Float64Array)[1] as number) : v)),
    )
    expect(part(stuck, 150)).toBe(part(base, 150))
    expect(part(stuck, 260)).toBeGreaterThan(3 * part(base, 260)) // 60 rows stuck: its last 40 changes are all 0
    const whole = createScorer(fitted)
    const batch = whole.scoreSeries(stuck, 4)
    expect(batch[260]?.isAnomaly).toBe(true)
    expect(batch[260]?.interpretation[0]?.variable).toBe('v1')
    for (let i = 180; i < 300; i++) expect(whole.scoreLast(stuck.slice(i - 99, i + 1), 4)).toEqual(batch[i])
  })

  it('holds on random data too (property over seeds)', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = seededRandom(seed)
      const rows = Array.from({ length: 60 }, () => Float64Array.from({ length: 4 }, () => 4 * random() - 2))
      const batch = scorer.scoreSeries(rows)
      for (let i = W - 1; i < rows.length; i++) expect(scorer.scoreLast(rows.slice(i - W + 1, i + 1))).toEqual(batch[i])
    }
  })

  it('flags the injected faults, names the faulty variable first, and keeps normal rows quiet', () => {
    const batch = scorer.scoreSeries(test, 2)
    const flagged = batch.map((v, i) => (v?.isAnomaly === true ? i : -1)).filter((i) => i >= 0)
    expect(flagged.some((i) => i >= 80 && i < 95)).toBe(true)
    expect(flagged.some((i) => i >= 150 && i < 158)).toBe(true)
    // The faulty variable leads on every flagged row of the fault, not only at its onset: deeper in, the
    // forecaster (fed the faulty lag) also blames the variables it predicts from it, and the level share keeps
    // the blame on the variable that is actually off.
    const duringFault = flagged.filter((i) => i >= 80 && i < 90)
    expect(duringFault.length).toBeGreaterThanOrEqual(8)
    for (const i of duringFault) expect(batch[i]?.interpretation[0]?.variable).toBe('v2')
    const normal = batch.slice(W, 75).filter((v) => v?.isAnomaly === true).length
    expect(normal).toBeLessThanOrEqual(2)
  })

  it('keeps severity 0 on normal rows and monotonic in score, and contributions summing to 1', () => {
    const values = scorer.scoreSeries(test, 4).filter((v) => v !== null)
    for (const v of values) {
      expect(v.score).toBeGreaterThanOrEqual(0)
      expect(v.score).toBeLessThan(2)
      if (!v.isAnomaly) {
        expect(v.severity).toBe(0)
        expect(v.interpretation).toEqual([])
        expect(v.score).toBeLessThanOrEqual(1)
      } else {
        expect(v.score).toBeGreaterThan(1)
        expect(v.severity).toBeGreaterThan(0)
        expect(v.severity).toBeLessThan(1)
        const total = v.interpretation.reduce((s, c) => s + c.contributionScore, 0)
        expect(total).toBeCloseTo(1, 12)
        expect(v.interpretation.length).toBeLessThanOrEqual(4)
      }
    }
    const anomalous = values.filter((v) => v.isAnomaly).sort((a, b) => a.score - b.score)
    for (let i = 1; i < anomalous.length; i++) {
      expect((anomalous[i] as { severity: number }).severity).toBeGreaterThanOrEqual(
        (anomalous[i - 1] as { severity: number }).severity,
      )
    }
  })

  it('lists as changed the variables whose correlation with a contributor moved furthest (plain Pearson check)', () => {
    // Variable 1 runs against variable 0 from row 60 on: their training correlation breaks inside later windows.
    const broken = test.map((row) => Float64Array.from(row))
    for (let t = 60; t < 120; t++) {
      const row = broken[t] as Float64Array
      row[1] = -(row[0] as number)
      row[3] = 4
    }
    const { center, scale, trainingCorrelation } = state.payload
    const d = state.payload.variables.length
    const pearson = (window: readonly Float64Array[], j: number, k: number): number => {
      const x = window.map((row) => ((row[j] as number) - (center[j] as number)) / (scale[j] as number))
      const y = window.map((row) => ((row[k] as number) - (center[k] as number)) / (scale[k] as number))
      const mx = x.reduce((a, b) => a + b, 0) / x.length
      const my = y.reduce((a, b) => a + b, 0) / y.length
      let sxy = 0
      let sxx = 0
      let syy = 0
      x.forEach((xi, t) => {
        const yi = y[t] as number
        sxy += (xi - mx) * (yi - my)
        sxx += (xi - mx) ** 2
        syy += (yi - my) ** 2
      })
      return Math.sqrt(sxx * syy) > 1e-12 ? sxy / Math.sqrt(sxx * syy) : 0
    }
    const batch = scorer.scoreSeries(broken, 4)
    let checked = 0
    for (let i = 70; i < 120; i++) {
      const value = batch[i]
      if (value?.isAnomaly !== true) continue
      const window = broken.slice(i - W + 1, i + 1)
      expect(scorer.scoreLast(window, 4)).toEqual(value)
      for (const contributor of value.interpretation) {
        const j = state.payload.variables.indexOf(contributor.variable)
        const expected = Array.from({ length: d }, (_, k) => k)
          .filter((k) => k !== j)
          .map((k) => ({ k, delta: Math.abs(pearson(window, j, k) - (trainingCorrelation[j * d + k] as number)) }))
          .filter((c) => c.delta >= state.params.correlationChange)
          .sort((a, b) => b.delta - a.delta)
          .map((c) => `v${c.k}`)
        expect(contributor.correlationChanges.changedVariables).toEqual(expected)
        checked++
      }
    }
    expect(checked).toBeGreaterThan(20)
    // v0's and v1's correlation, positive in training, is now −1: each names the other.
    const last = batch[119]?.interpretation ?? []
    for (const [a, b] of [
      ['v0', 'v1'],
      ['v1', 'v0'],
    ]) {
      const entry = last.find((c) => c.variable === a)
      expect(entry, `${a} among the last row's contributors`).toBeDefined()
      expect(entry?.correlationChanges.changedVariables).toContain(b)
    }
  })

  it('does not mutate its input and refuses rows of the wrong width or a short window', () => {
    const copy = test.map((row) => Float64Array.from(row))
    scorer.scoreSeries(test)
    scorer.scoreLast(test.slice(0, W))
    expect(test).toEqual(copy)
    expect(() => scorer.scoreLast(test.slice(0, W - 1))).toThrow(`needs ${W} rows`)
    expect(() => scorer.scoreLast([...test.slice(0, W - 1), new Float64Array(3)])).toThrow('expected rows of 4 values')
  })

  it('refuses NaN and ±Infinity instead of scoring them as normal (or as NaN)', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const window = test.slice(0, W).map((row) => Float64Array.from(row))
      ;(window[W - 1] as Float64Array)[1] = bad
      expect(() => scorer.scoreLast(window)).toThrow('not a finite number')
      expect(() => scorer.scoreSeries(window)).toThrow('not a finite number')
    }
  })

  it('takes a topContributorCount that is not a number as the default 10 (at most the variables)', () => {
    const anomalous = scorer.scoreSeries(test).find((v) => v?.isAnomaly === true)
    expect(anomalous).toBeDefined()
    const row = scorer.scoreSeries(test, Number.NaN).find((v) => v?.isAnomaly === true)
    expect(row?.interpretation).toHaveLength(4)
  })

  it('does not flag noiseless periodic data continued past training (no scale of rounding size, no tie at θ)', () => {
    const T0 = Date.UTC(2024, 0, 1)
    for (const [period, trainRows, variables] of [
      [24, 400, 3],
      [12, 400, 3],
      [24, 300, 1],
    ] as const) {
      const wave = (t: number, j: number): number => Math.sin((2 * Math.PI * t) / period + j)
      const table = (from: number, count: number): AlignedSeries => {
        const timestamps = Array.from({ length: count }, (_, i) => T0 + (from + i) * 60_000)
        return {
          variables: ['a', 'b', 'c'].slice(0, variables),
          timestamps,
          rows: timestamps.map((_, i) => Float64Array.from({ length: variables }, (_, j) => wave(from + i, j))),
          variableStates: [],
        }
      }
      const { state } = fitModel(table(0, trainRows), { slidingWindow: 28 })
      const rows = [...state.payload.trainingTail.map((r) => Float64Array.from(r)), ...table(trainRows, 300).rows]
      const flagged = createScorer(state)
        .scoreSeries(rows)
        .slice(28)
        .filter((r) => r?.isAnomaly).length
      expect({ period, trainRows, variables, flagged }).toEqual({ period, trainRows, variables, flagged: 0 })
    }
  })
})
