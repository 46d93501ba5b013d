import { describe, expect, it } from 'vitest'
import type { AlignedSeries, AnomalyValue } from '../../../src/domain/types.js'
import { detectBatch, type BatchScorer } from '../../../src/pipeline/detect-batch.js'
import { parseWireAnomalyState, toWireAnomalyState } from '../../../src/pipeline/result-json.js'

const MIN = 60_000
const T0 = Date.UTC(2021, 0, 2)

/** Scores a row by its first value once it has `window - 1` rows before it; records what it was given. */
function fakeScorer(window: number): BatchScorer & { seen: number[][] } {
  const seen: number[][] = []
  return {
    seen,
    scoreSeries(rows): (AnomalyValue | null)[] {
      seen.push(rows.map((r) => r[0] ?? NaN))
      return rows.map((r, i) =>
        i < window - 1 ? null : { isAnomaly: (r[0] ?? 0) > 100, score: r[0] ?? 0, severity: 0, interpretation: [] },
      )
    },
  }
}

function series(n: number, start = T0): AlignedSeries {
  return {
    variables: ['a'],
    timestamps: Array.from({ length: n }, (_, i) => start + i * MIN),
    rows: Array.from({ length: n }, (_, i) => Float64Array.of(i)),
    variableStates: [],
  }
}

describe('detectBatch', () => {
  it('marks rows without enough history as InsufficientHistoricalData', () => {
    const { results, usedTrainingTail } = detectBatch(fakeScorer(3), series(5), { slidingWindow: 3 })
    expect(usedTrainingTail).toBe(false)
    expect(results.map((r) => r.value?.score ?? r.errors[0]?.code)).toEqual([
      'InsufficientHistoricalData',
      'InsufficientHistoricalData',
      2,
      3,
      4,
    ])
    expect(results[0]).toEqual({
      timestamp: T0,
      errors: [{ code: 'InsufficientHistoricalData', message: 'historical data is not enough.' }],
    })
  })

  it('prepends the training tail when the input continues training', () => {
    const scorer = fakeScorer(3)
    const tail = { rows: [[-3], [-2], [-1]], lastTimestamp: T0 - MIN }
    const { results, usedTrainingTail } = detectBatch(scorer, series(2), { slidingWindow: 3, trainingTail: tail })
    expect(usedTrainingTail).toBe(true)
    expect(scorer.seen[0]).toEqual([-3, -2, -1, 0, 1]) // at most slidingWindow rows of history
    expect(results.map((r) => r.value?.score)).toEqual([0, 1])
  })

  it('uses the tail across one missing row, not across a longer gap (and says how long it was)', () => {
    const tail = { rows: [[-3], [-2], [-1]], lastTimestamp: T0 - MIN }
    const oneMissing = detectBatch(fakeScorer(3), series(4, T0 + MIN), { slidingWindow: 3, trainingTail: tail })
    expect(oneMissing.usedTrainingTail).toBe(true)
    expect(oneMissing.trainingTailGapMs).toBeUndefined()
    const later = detectBatch(fakeScorer(3), series(4, T0 + 2 * MIN), { slidingWindow: 3, trainingTail: tail })
    expect(later.usedTrainingTail).toBe(false)
    expect(later.trainingTailGapMs).toBe(3 * MIN)
    expect(later.results[0]?.errors[0]?.code).toBe('InsufficientHistoricalData')
    // One input row has no step of its own: the training data's is the judge (9 minutes after is not continuing; the
    // next minute is), and a model saved without its step lets it continue (detect-last on a model's own tail).
    const stepped = { ...tail, step: MIN }
    const oneRow = (start: number, trainingTail: typeof tail): ReturnType<typeof detectBatch> =>
      detectBatch(fakeScorer(3), series(1, start), { slidingWindow: 3, trainingTail })
    expect(oneRow(T0 + 9 * MIN, stepped)).toMatchObject({ usedTrainingTail: false, trainingTailGapMs: 10 * MIN })
    expect(oneRow(T0, stepped)).toMatchObject({ usedTrainingTail: true })
    expect(oneRow(T0 + 9 * MIN, tail)).toMatchObject({ usedTrainingTail: true })
  })

  it('ignores a tail that does not precede the input', () => {
    const tail = { rows: [[-1]], lastTimestamp: T0 }
    expect(detectBatch(fakeScorer(1), series(2), { slidingWindow: 1, trainingTail: tail }).usedTrainingTail).toBe(false)
  })

  it('reports only the range and uses earlier rows as history', () => {
    const scorer = fakeScorer(3)
    const range = { startTime: T0 + 5 * MIN, endTime: T0 + 6 * MIN }
    const { results } = detectBatch(scorer, series(10), { slidingWindow: 3, range })
    expect(results.map((r) => [r.timestamp, r.value?.score])).toEqual([
      [T0 + 5 * MIN, 5],
      [T0 + 6 * MIN, 6],
    ])
    expect(scorer.seen[0]).toEqual([2, 3, 4, 5, 6])
  })
})

describe('result JSON', () => {
  it('round-trips MVAD AnomalyState lines', () => {
    const state = {
      timestamp: Date.UTC(2021, 0, 2, 2, 29),
      value: {
        isAnomaly: true,
        score: 0.63,
        severity: 0.37,
        interpretation: [{ variable: 's9', contributionScore: 1, correlationChanges: { changedVariables: ['s0'] } }],
      },
      errors: [],
    }
    const wire = toWireAnomalyState(state)
    expect(JSON.stringify(wire)).toBe(
      '{"timestamp":"2021-01-02T02:29:00Z","value":{"isAnomaly":true,"score":0.63,"severity":0.37,"interpretation":[{"variable":"s9","contributionScore":1,"correlationChanges":{"changedVariables":["s0"]}}]},"errors":[]}',
    )
    expect(parseWireAnomalyState(JSON.stringify(wire), 'r.jsonl', 1)).toEqual(state)
  })
  it('names the line of a bad record', () => {
    expect(() => parseWireAnomalyState('{"timestamp":1}', 'r.jsonl', 7)).toThrow(/r\.jsonl line 7/)
  })
})

describe('detectBatch chunking', () => {
  it('gives the same results in chunks as in one call, tail included, and reports progress', () => {
    const tail = { rows: [[-3], [-2], [-1]], lastTimestamp: T0 - MIN }
    const whole = detectBatch(fakeScorer(3), series(50), { slidingWindow: 3, trainingTail: tail })
    const fractions: number[] = []
    const chunked = detectBatch(fakeScorer(3), series(50), {
      slidingWindow: 3,
      trainingTail: tail,
      chunkRows: 7,
      onProgress: (f) => fractions.push(f),
    })
    expect(chunked).toEqual(whole)
    expect(fractions).toHaveLength(8)
    expect(fractions.at(-1)).toBe(1)
    const noTail = detectBatch(fakeScorer(3), series(50), { slidingWindow: 3, chunkRows: 5 })
    expect(noTail.results).toEqual(detectBatch(fakeScorer(3), series(50), { slidingWindow: 3 }).results)
  })
})
