import { describe, expect, it } from 'vitest'
import { RowHasher, RowMemo, SlidingRows, SlidingRowsPool } from '../../../src/model/row-memo.js'

const rows = (...values: number[][]): Float64Array[] => values.map((v) => Float64Array.from(v))

const hashesOf = (list: Float64Array[]): Uint32Array => {
  const hasher = new RowHasher(2)
  return Uint32Array.from(list, (row) => hasher.hash(row))
}

describe('RowMemo', () => {
  it('misses, stores, then hits on equal content (not identity)', () => {
    const memo = new RowMemo(2, 2, 1, 8)
    const a = rows([1, 2], [3, 4])
    expect(memo.lookup(a, 1, hashesOf(a))).toBeUndefined()
    memo.store(a, 1)[0] = 42
    const copy = rows([1, 2], [3, 4])
    expect(memo.lookup(copy, 1, hashesOf(copy))?.[0]).toBe(42)
  })

  it('never returns the value of other rows, even in the same slots, and evicts the least recently used', () => {
    const memo = new RowMemo(2, 1, 1, 1) // the fewest slots (4): every key shares them
    const keys = [0, 1, 2, 3, 4].map((k) => rows([1, 2 + k * 4.440892098500626e-16]))
    const lookup = (k: number): number | undefined => {
      const key = keys[k] as Float64Array[]
      return memo.lookup(key, 0, hashesOf(key))?.[0]
    }
    for (let k = 0; k < 4; k++) {
      expect(lookup(k)).toBeUndefined()
      memo.store(keys[k] as Float64Array[], 0)[0] = 10 + k
    }
    expect([0, 1, 2, 3].map(lookup)).toEqual([10, 11, 12, 13]) // four near-equal rows, each its own value
    expect(lookup(0)).toBe(10) // 0 is now the most recently used, 1 the least
    expect(lookup(4)).toBeUndefined()
    memo.store(keys[4] as Float64Array[], 0)[0] = 14
    expect([0, 1, 2, 3, 4].map(lookup)).toEqual([10, undefined, 12, 13, 14])
  })
})

describe('SlidingRows', () => {
  it('reuses the values of a window moved by one row, and nothing else', () => {
    const carry = new SlidingRows(2, 3)
    const series = rows([0, 0], [1, 1], [2, 2], [3, 3], [4, 4])
    expect(carry.follows(series, 2)).toBe(false) // nothing kept yet
    carry.reset(series, 2, [10, 11, 12]) // rows 0..2
    expect(carry.follows(series, 3)).toBe(true) // rows 1..2 kept, row 3 new
    carry.push(series[3] as Float64Array, 13)
    const out = new Float64Array(3)
    carry.copyValues(out)
    expect([...out]).toEqual([11, 12, 13])
    // Equal content in other buffers follows too; the same window again, or one changed value, does not.
    expect(carry.follows(rows([9, 9], [2, 2], [3, 3], [4, 4]), 3)).toBe(true)
    expect(carry.follows(series, 3)).toBe(false)
    expect(carry.follows(rows([1, 1], [2, 2], [3, -0], [4, 4]), 3)).toBe(false)
    const zeros = new SlidingRows(2, 2)
    zeros.reset(rows([0, 0], [0, 1]), 1, [0, 0])
    expect(zeros.follows(rows([0, 0], [-0, 1], [5, 5]), 2)).toBe(true) // −0 and 0 are the same number
    expect(zeros.follows(rows([0, 0], [NaN, 1], [5, 5]), 2)).toBe(false)
  })

  it('keeps the derived rows it is given, per kind, moves them with the rows, and has none where it was given none', () => {
    const carry = new SlidingRows(2, 3, 2)
    const series = rows([0, 0], [1, 1], [2, 2], [3, 3])
    const derived = rows([0, -1], [1, -1], [2, -1], [3, -1])
    carry.reset(series, 2, [0, 1, 2], (r, kind) => (r === 1 || kind === 1 ? undefined : derived[r]))
    expect([0, 1, 2].map((r) => carry.derived(r)?.[0])).toEqual([0, undefined, 2])
    expect([0, 1, 2].map((r) => carry.derived(r, 1))).toEqual([undefined, undefined, undefined])
    carry.setDerived(1, derived[1] as Float64Array)
    carry.setDerived(2, derived[0] as Float64Array, 1)
    carry.push(series[3] as Float64Array, 3) // the newest row comes without derived rows...
    expect([0, 1, 2].map((r) => carry.derived(r)?.[0])).toEqual([1, 2, undefined]) // rows 1..3, oldest first
    carry.setDerived(2, derived[3] as Float64Array) // ...until they are set
    expect([0, 1, 2].map((r) => carry.derived(r)?.[0])).toEqual([1, 2, 3])
    expect([0, 1, 2].map((r) => carry.derived(r, 1)?.[0])).toEqual([undefined, 0, undefined])
    ;(derived[2] as Float64Array)[0] = 99 // copies, not the caller's buffers
    expect(carry.derived(1)?.[0]).toBe(2)
  })
})

describe('SlidingRowsPool', () => {
  it('keeps a carry per interleaved stream, and the least recently used goes first', () => {
    const streamA = rows([0, 0], [1, 1], [2, 2], [3, 3])
    const streamB = rows([0, 5], [1, 5], [2, 5], [3, 5])
    const streamC = rows([0, 9], [1, 9], [2, 9], [3, 9])
    const pool = new SlidingRowsPool(2, 2, 2)
    const step = (stream: Float64Array[], last: number): boolean => {
      const hashes = hashesOf(stream)
      const carry = pool.following(stream, last, hashes)
      carry?.push(stream[last] as Float64Array, last)
      pool.keep(stream, last, hashes, carry, [last - 1, last])
      return carry !== undefined
    }
    expect([step(streamA, 1), step(streamB, 1)]).toEqual([false, false]) // first windows: nothing to follow
    expect([step(streamA, 2), step(streamB, 2)]).toEqual([true, true]) // each follows its own carry
    expect(step(streamC, 1)).toBe(false) // a third stream takes the least recently used carry (A's)
    expect([step(streamB, 3), step(streamA, 3)]).toEqual([true, false])
  })
})
