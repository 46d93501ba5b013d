import { describe, expect, it } from 'vitest'
import { readingsLag } from '../../../src/stream/group-offsets.js'

const marks = (low: bigint, high: bigint) => ({ low, high })

describe('readingsLag', () => {
  it('counts from the offset after the last processed batch when there is one', () => {
    expect(readingsLag(40n, 10n, marks(0n, 100n), 'earliest')).toBe(60)
  })

  it("counts from the group's commit before this instance processed a batch", () => {
    expect(readingsLag(undefined, 10n, marks(0n, 100n), 'latest')).toBe(90)
  })

  it('counts from where a group with no commit starts: the oldest reading, or unknown for only new ones', () => {
    expect(readingsLag(undefined, undefined, marks(25n, 100n), 'earliest')).toBe(75)
    expect(readingsLag(undefined, undefined, marks(25n, 100n), 'latest')).toBeUndefined()
  })

  it('does not count readings retention deleted before they were read', () => {
    expect(readingsLag(10n, undefined, marks(50n, 100n), 'earliest')).toBe(50)
  })

  it('is 0 when everything is processed, never negative', () => {
    expect(readingsLag(100n, undefined, marks(0n, 100n), 'earliest')).toBe(0)
    expect(readingsLag(120n, undefined, marks(0n, 100n), 'earliest')).toBe(0)
  })
})
