import { describe, expect, it } from 'vitest'
import { formatIsoTimestamp, parseIsoTimestamp } from '../../../src/data/timestamp.js'

describe('timestamps', () => {
  it.each([
    ['2024-01-01T00:00:00Z', Date.UTC(2024, 0, 1)],
    ['2024-01-01', Date.UTC(2024, 0, 1)],
    ['2024-01-01T02:03', Date.UTC(2024, 0, 1, 2, 3)],
    ['2024-01-01T02:03:04.5Z', Date.UTC(2024, 0, 1, 2, 3, 4, 500)],
    ['2024-01-01T02:00:00-0130', Date.UTC(2024, 0, 1, 3, 30)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['0050-01-01T00:00:00Z', new Date('0050-01-01T00:00:00Z').getTime()], // not 1950
    ['0099-12-31T23:59:59+01:00', new Date('0099-12-31T22:59:59Z').getTime()],
  ])('parses %s', (text, ms) => expect(parseIsoTimestamp(text)).toBe(ms))

  it.each(['Jan 1 2024', '2023-02-29', '2024-13-01', '2024-01-01T24:00:00Z', '1704067200000', ''])(
    'rejects %s',
    (text) => expect(parseIsoTimestamp(text)).toBeUndefined(),
  )

  it('formats without milliseconds unless they are set', () => {
    expect(formatIsoTimestamp(Date.UTC(2021, 0, 2, 2, 29))).toBe('2021-01-02T02:29:00Z')
    expect(formatIsoTimestamp(Date.UTC(2021, 0, 2, 2, 29, 0, 5))).toBe('2021-01-02T02:29:00.005Z')
  })
})
