import { describe, expect, it } from 'vitest'
import { FrameAssembler, fillMissing } from '../../../src/stream/frame-assembler.js'

const r = (variable: string, timestamp: number, value: number, offset: number) => ({
  variable,
  timestamp,
  value,
  offset: BigInt(offset),
})

describe('FrameAssembler', () => {
  it('emits a frame as soon as every variable arrived, values in model column order', () => {
    const assembler = new FrameAssembler(['a', 'b'], 0)
    expect(assembler.add(r('b', 60, 2, 0))).toBeUndefined()
    expect(assembler.drain()).toEqual([])
    assembler.add(r('a', 60, 1, 1))
    const [frame, ...rest] = assembler.drain()
    expect(rest).toEqual([])
    expect(frame?.timestamp).toBe(60)
    expect([...(frame?.values ?? [])]).toEqual([1, 2])
    expect(frame?.missing).toBe(0)
    expect(frame?.maxOffset).toBe(1n)
  })

  it('keeps frames in time order: a complete later frame waits for an earlier incomplete one', () => {
    const assembler = new FrameAssembler(['a', 'b'], 120)
    assembler.add(r('a', 60, 1, 0))
    assembler.add(r('a', 120, 3, 1))
    assembler.add(r('b', 120, 4, 2))
    expect(assembler.drain()).toEqual([])
    expect(assembler.oldestPendingOffset()).toBe(0n)
    assembler.add(r('b', 60, 2, 3))
    expect(assembler.drain().map((f) => f.timestamp)).toEqual([60, 120])
    expect(assembler.oldestPendingOffset()).toBeUndefined()
  })

  it('emits an incomplete frame once the watermark passes the allowed lateness, marking the gap NaN', () => {
    const assembler = new FrameAssembler(['a', 'b'], 60)
    assembler.add(r('a', 0, 1, 0))
    assembler.add(r('a', 60, 1, 1))
    expect(assembler.drain()).toEqual([]) // 60 - 0 is not beyond 60
    assembler.add(r('a', 120, 1, 2))
    const [frame] = assembler.drain()
    expect(frame?.timestamp).toBe(0)
    expect(frame?.missing).toBe(1)
    expect(Number.isNaN(frame?.values[1])).toBe(true)
  })

  it('accepts out-of-order readings within the lateness and rejects later ones with a reason', () => {
    const assembler = new FrameAssembler(['a'], 60, 0)
    expect(assembler.add(r('a', 0, 1, 0))?.reason).toBe('late_after_emit')
    assembler.add(r('a', 300, 1, 1))
    expect(assembler.add(r('a', 239, 1, 2))?.reason).toBe('late_beyond_lateness')
    expect(assembler.add(r('a', 240, 1, 3))).toBeUndefined()
    expect(assembler.drain().map((f) => f.timestamp)).toEqual([240, 300])
    expect(assembler.lastEmitted).toBe(300)
  })

  it('keeps the latest value when a variable repeats within a pending frame', () => {
    const assembler = new FrameAssembler(['a', 'b'], 0)
    assembler.add(r('a', 0, 1, 0))
    assembler.add(r('a', 0, 5, 1))
    assembler.add(r('b', 0, 2, 2))
    expect([...(assembler.drain()[0]?.values ?? [])]).toEqual([5, 2])
  })

  it('knows its variables', () => {
    const assembler = new FrameAssembler(['a'], 0)
    expect(assembler.hasVariable('a')).toBe(true)
    expect(assembler.hasVariable('z')).toBe(false)
    expect(() => assembler.add(r('z', 0, 1, 0))).toThrow('unknown variable z')
  })
})

describe('fillMissing', () => {
  const values = Float64Array.from([1, Number.NaN, 3])
  const previous = Float64Array.from([7, 8, 9])
  it('carries the previous row forward for Previous, Linear and Subsequent', () => {
    for (const method of ['Previous', 'Linear', 'Subsequent'] as const) {
      expect([...fillMissing(values, previous, method, 0)]).toEqual([1, 8, 3])
    }
  })
  it('uses zero or the padding value', () => {
    expect([...fillMissing(values, previous, 'Zero', 5)]).toEqual([1, 0, 3])
    expect([...fillMissing(values, previous, 'Fixed', 5)]).toEqual([1, 5, 3])
  })
  it('falls back to zero without a previous row and does not mutate its input', () => {
    expect([...fillMissing(values, undefined, 'Previous', 0)]).toEqual([1, 0, 3])
    expect(Number.isNaN(values[1])).toBe(true)
  })
})
