import { describe, expect, it } from 'vitest'
import { RowHasher, RowMemo } from '../../../src/model/row-memo.js'

const rows = (...values: number[][]): Float64Array[] => values.map((v) => Float64Array.from(v))

describe('RowMemo', () => {
  const hashesOf = (list: Float64Array[]): Uint32Array => {
    const hasher = new RowHasher(2)
    return Uint32Array.from(list, (row) => hasher.hash(row))
  }

  it('misses, stores, then hits on equal content (not identity)', () => {
    const memo = new RowMemo(2, 2, 1, 8)
    const a = rows([1, 2], [3, 4])
    expect(memo.lookup(a, 1, hashesOf(a))).toBeUndefined()
    memo.store(a, 1)[0] = 42
    const copy = rows([1, 2], [3, 4])
    expect(memo.lookup(copy, 1, hashesOf(copy))?.[0]).toBe(42)
  })

  it('never returns the value of other rows, even in the same slot', () => {
    const memo = new RowMemo(2, 1, 1, 1) // one slot: every key collides
    const a = rows([1, 2])
    const b = rows([1, 2.0000000000000004])
    expect(memo.lookup(a, 0, hashesOf(a))).toBeUndefined()
    memo.store(a, 0)[0] = 1
    expect(memo.lookup(b, 0, hashesOf(b))).toBeUndefined()
    memo.store(b, 0)[0] = 2
    expect(memo.lookup(a, 0, hashesOf(a))).toBeUndefined()
    expect(memo.lookup(b, 0, hashesOf(b))?.[0]).toBe(2)
  })
})
