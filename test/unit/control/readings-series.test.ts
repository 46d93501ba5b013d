import { describe, expect, it } from 'vitest'
import { seriesFromReadings, type RangeReading } from '../../../src/control/readings-series.js'

const r = (variable: string, timestamp: number, value: number, offset: number, partition = 0): RangeReading => ({
  variable,
  timestamp,
  value,
  offset: BigInt(offset),
  partition,
})

describe('seriesFromReadings', () => {
  it('orders readings by time, fills gaps from the previous row as the stream does, and reports states', () => {
    const readings = [
      r('b', 2, 20, 5),
      r('a', 1, 1, 0),
      r('b', 1, 10, 1),
      r('a', 3, 3, 6),
      r('b', 3, 30, 7),
      r('x', 2, 9, 4),
    ]
    const { series, unknownVariable } = seriesFromReadings(readings, {
      variables: ['a', 'b'],
      fillNAMethod: 'Linear',
      paddingValue: 0,
    })
    expect(series.timestamps).toEqual([1, 2, 3])
    expect(series.rows.map((row) => [...row])).toEqual([
      [1, 10],
      [1, 20], // a missing at t=2: carried forward (the future is unknown on a stream)
      [3, 30],
    ])
    expect(unknownVariable.map((u) => u.variable)).toEqual(['x'])
    expect(series.variableStates[0]).toEqual({
      variable: 'a',
      filledNARatio: 1 / 3,
      effectiveCount: 2,
      firstTimestamp: 1,
      lastTimestamp: 3,
    })
  })

  it('discovers variables sorted by name when none are given, and uses the padding value for Fixed', () => {
    const { series } = seriesFromReadings([r('z', 1, 1, 0), r('m', 2, 2, 1)], {
      fillNAMethod: 'Fixed',
      paddingValue: -1,
    })
    expect(series.variables).toEqual(['m', 'z'])
    expect(series.rows.map((row) => [...row])).toEqual([
      [-1, 1],
      [2, -1],
    ])
  })
})
