import { describe, expect, it } from 'vitest'
import { pointMetrics } from '../../../src/eval/metrics.js'
import {
  DEFAULT_MODEL_PARAMS,
  DEFAULT_TUNE_GRID,
  calibrate,
  createScorer,
  fitModel,
  fitWeights,
  tune,
} from '../../../src/model/index.js'
import { syntheticSeries } from './synthetic.js'

const W = 28
const train = syntheticSeries(500, 4, 3)
// Validation continues training (its first row one step after the last training row), as detect then takes the tail.
const trainEnd = train.timestamps[train.timestamps.length - 1] as number
const validation = { ...syntheticSeries(300, 4, 9) }
validation.timestamps = validation.timestamps.map((_, t) => trainEnd + (t + 1) * 60_000)
const labels = validation.rows.map((_, t) => (t >= 150 && t < 170 ? 1 : 0))
for (let t = 150; t < 170; t++) (validation.rows[t] as Float64Array)[2] = 2.5 + (t % 3) // a fault of 20 rows

/** Own-decision F1 of a model on the validation rows, scored as the service scores them. */
function ownF1(state: ReturnType<typeof fitModel>['state']): number {
  const history = state.payload.trainingTail.map((row) => Float64Array.from(row))
  const scored = createScorer(state)
    .scoreSeries([...history, ...validation.rows])
    .slice(history.length)
  return pointMetrics(
    scored.map((v) => v?.isAnomaly === true),
    labels,
  ).f1
}

describe('tune', () => {
  it('visits the default grid, defaults first, and returns the best candidate with the model it scored', () => {
    const progress: [number, number][] = []
    const result = tune(train, validation, labels, { slidingWindow: W }, DEFAULT_TUNE_GRID, (done, total) =>
      progress.push([done, total]),
    )
    expect(result.grid).toHaveLength(54)
    expect(result.grid[0]?.params).toMatchObject({
      smoothing: DEFAULT_MODEL_PARAMS.smoothing,
      topVariables: DEFAULT_MODEL_PARAMS.topVariables,
      noveltyHold: DEFAULT_MODEL_PARAMS.noveltyHold,
      riskLevel: DEFAULT_MODEL_PARAMS.riskLevel,
    })
    const best = Math.max(...result.grid.map((c) => c.f1))
    expect(result.best.f1).toBe(best)
    expect(result.best).toBe(result.grid.find((c) => c.f1 === best)) // ties keep the earlier candidate
    expect(result.best.f1).toBeGreaterThan(0)
    // The weights are shared between candidates: the model returned is the one a fresh fit would give.
    const { state } = fitModel(train, result.best.params)
    expect(JSON.stringify(result.state)).toBe(JSON.stringify(state))
    expect(ownF1(result.state)).toBe(result.best.f1)
    expect(progress.at(-1)).toEqual([54, 54])
    expect(progress.map(([done]) => done)).toEqual(Array.from({ length: 54 }, (_, i) => i + 1))
  })

  it('is reproducible, and does not vary the parameters the caller fixed', () => {
    const grid = DEFAULT_TUNE_GRID.slice(0, 6)
    const a = tune(train, validation, labels, { slidingWindow: W }, grid)
    const b = tune(train, validation, labels, { slidingWindow: W }, grid)
    expect(JSON.stringify(a)).toBe(JSON.stringify(b))
    const fixed = tune(train, validation, labels, { slidingWindow: W, riskLevel: 0.02, noveltyHold: 5 })
    expect(fixed.grid).toHaveLength(9) // smoothing × topVariables
    expect(fixed.grid.every((c) => c.params.riskLevel === 0.02 && c.params.noveltyHold === 5)).toBe(true)
    expect(fixed.state.params).toMatchObject({ riskLevel: 0.02, noveltyHold: 5 })
  })

  it('refuses labels that do not match the validation rows, or that mark no anomaly', () => {
    expect(() => tune(train, validation, labels.slice(1), { slidingWindow: W })).toThrow(/differ in length/)
    expect(() =>
      tune(
        train,
        validation,
        labels.map(() => 0),
        { slidingWindow: W },
      ),
    ).toThrow(/no validation row is labelled/)
  })

  it('scores validation from the training tail only when it continues training, as detect does', () => {
    const grid = DEFAULT_TUNE_GRID.slice(0, 1)
    const continuing = tune(train, validation, labels, { slidingWindow: W }, grid)
    const later = { ...validation, timestamps: validation.timestamps.map((t) => t + 86_400_000) }
    // The fault is at rows 150–169, after the first window: flagged either way, but the tail's rows are not there
    // for the first W − 1 rows, which then count as not flagged.
    const gap = tune(train, later, labels, { slidingWindow: W }, grid)
    expect(gap.grid[0]?.recall).toBe(continuing.grid[0]?.recall)
    const earlyLabels = labels.map((_, t) => (t < 10 ? 1 : 0))
    const earlyContinuing = tune(train, validation, earlyLabels, { slidingWindow: W }, grid)
    const earlyGap = tune(train, later, earlyLabels, { slidingWindow: W }, grid)
    expect(earlyGap.grid[0]?.precision).toBe(0) // nothing flagged among the first rows without history
    expect(earlyContinuing.grid[0]?.f1).not.toBe(earlyGap.grid[0]?.f1)
  })
})

describe('fitWeights + calibrate', () => {
  it('gives fitModel exactly, for any calibration parameters, and refuses weights fitted with other ones', () => {
    const fitted = fitWeights(train, { slidingWindow: W })
    for (const params of [
      { slidingWindow: W },
      { slidingWindow: W, smoothing: 10, topVariables: 0, riskLevel: 0.01 },
    ]) {
      expect(JSON.stringify(calibrate(fitted, params).state)).toBe(JSON.stringify(fitModel(train, params).state))
    }
    expect(() => calibrate(fitted, { slidingWindow: W, lags: 3 })).toThrow(/fitted with other lags/)
  })
})
