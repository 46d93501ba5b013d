import { describe, expect, it } from 'vitest'
import {
  ReadingsPacker,
  packReadings,
  readingAt,
  seriesFromReadings,
  type RangeReading,
} from '../../../src/control/readings-series.js'

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
    const series = seriesFromReadings(packReadings(readings), {
      variables: ['a', 'b'],
      fillNAMethod: 'Linear',
      paddingValue: 0,
    })
    expect(series.timestamps).toEqual([1, 2, 3])
    expect(series.rows.map((row) => [...row])).toEqual([
      [1, 10],
      [1, 20], // a missing at t=2: carried forward (the future is unknown on a stream); x is not a model variable
      [3, 30],
    ])
    expect(series.variableStates[0]).toEqual({
      variable: 'a',
      filledNARatio: 1 / 3,
      effectiveCount: 2,
      firstTimestamp: 1,
      lastTimestamp: 3,
    })
  })

  it('statesRange: the variable states describe only the frames in it', () => {
    const readings = [r('a', 1, 1, 0), r('b', 1, 10, 1), r('b', 2, 20, 2), r('a', 3, 3, 3), r('b', 3, 30, 4)]
    const series = seriesFromReadings(packReadings(readings), {
      variables: ['a', 'b'],
      fillNAMethod: 'Previous',
      paddingValue: 0,
      statesRange: { startTime: 2, endTime: 3 },
    })
    expect(series.timestamps).toEqual([1, 2, 3])
    expect(series.variableStates).toEqual([
      { variable: 'a', filledNARatio: 0.5, effectiveCount: 1, firstTimestamp: 3, lastTimestamp: 3 },
      { variable: 'b', filledNARatio: 0, effectiveCount: 2, firstTimestamp: 2, lastTimestamp: 3 },
    ])
  })

  it('discovers variables sorted by name when none are given, and uses the padding value for Fixed', () => {
    const series = seriesFromReadings(packReadings([r('z', 1, 1, 0), r('m', 2, 2, 1)]), {
      fillNAMethod: 'Fixed',
      paddingValue: -1,
    })
    expect(series.variables).toEqual(['m', 'z'])
    expect(series.rows.map((row) => [...row])).toEqual([
      [-1, 1],
      [2, -1],
    ])
  })

  it('uses the earliest offset of a repeated (variable, timestamp), as the stream did: the frame was complete then', () => {
    const series = seriesFromReadings(packReadings([r('a', 1, 7, 9), r('a', 1, 5, 2), r('a', 2, 6, 3)]), {
      fillNAMethod: 'Previous',
      paddingValue: 0,
    })
    expect(series.rows.map((row) => [...row])).toEqual([[5], [6]])
  })
})

describe('ReadingsPacker', () => {
  it('grows past its first capacity, keeps every field, and survives a structured clone (the worker hand-off)', () => {
    const packer = new ReadingsPacker()
    const readings = Array.from({ length: 3000 }, (_, i) =>
      r(`v${i % 3}`, 1_700_000_000_000 + Math.floor(i / 3) * 60_000, i / 7, 2 ** 40 + i, i % 2),
    )
    for (const reading of readings) packer.add(reading, reading.offset, reading.partition)
    expect(packer.count).toBe(3000)
    const packed = structuredClone(packer.packed())
    expect(packed.names).toEqual(['v0', 'v1', 'v2'])
    expect(Array.from({ length: packed.count }, (_, i) => readingAt(packed, i))).toEqual(readings)
    const series = seriesFromReadings(packed, { fillNAMethod: 'Previous', paddingValue: 0 })
    expect(series.rows).toHaveLength(1000)
    expect([...(series.rows[999] as Float64Array)]).toEqual([2997 / 7, 2998 / 7, 2999 / 7])
  })
})

describe('ReadingsPacker limits', () => {
  it('grows no further than its maxCount, and packs views that later readings do not change', () => {
    const packer = new ReadingsPacker(1500)
    for (let i = 0; i < 1500; i++) packer.add({ variable: 'a', timestamp: i, value: i }, BigInt(i), 0)
    const packed = packer.packed()
    expect(packed.count).toBe(1500)
    expect(packed.value.buffer.byteLength).toBe(1500 * 8) // doubling would have taken 2,048 slots
    expect(packed.value.length).toBe(1500)
    expect(() => packer.add({ variable: 'a', timestamp: 1500, value: -1 }, 1500n, 0)).toThrow(
      'ReadingsPacker: more than 1500 readings',
    ) // the reader refuses a range before this
    const growing = new ReadingsPacker()
    for (let i = 0; i < 10; i++) growing.add({ variable: 'a', timestamp: i, value: i }, BigInt(i), 0)
    const early = growing.packed()
    growing.add({ variable: 'a', timestamp: 10, value: -1 }, 10n, 0) // into the same buffer, past the view
    expect([...early.value]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })
})

describe('seriesFromReadings limits (MVAD, as for files)', () => {
  const policy = { fillNAMethod: 'Previous' as const, paddingValue: 0 }
  const limits = { maxRows: 3, maxVariables: 2, source: 'topic readings, entity pump-1' }

  it('refuses more timestamps than the limit while the rows are made', () => {
    const readings = [0, 1, 2, 3].map((t) => r('a', t, t, t))
    expect(() => seriesFromReadings(packReadings(readings), { ...policy, limits })).toThrow(
      expect.objectContaining({
        code: 'TooManyData',
        message:
          'topic readings, entity pump-1: more than 3 timestamps; narrow the range read (source.fromTime/toTime)',
      }),
    )
    expect(seriesFromReadings(packReadings(readings.slice(0, 3)), { ...policy, limits }).rows).toHaveLength(3)
  })

  it('refuses more variables than the limit unless the variables are listed', () => {
    const readings = [r('a', 0, 1, 0), r('b', 0, 2, 1), r('c', 0, 3, 2)]
    expect(() => seriesFromReadings(packReadings(readings), { ...policy, limits })).toThrow(
      expect.objectContaining({ code: 'TooManyVariables' }),
    )
    const listed = seriesFromReadings(packReadings(readings), { ...policy, limits, variables: ['a', 'c'] })
    expect(listed.rows.map((row) => [...row])).toEqual([[1, 3]])
  })
})
