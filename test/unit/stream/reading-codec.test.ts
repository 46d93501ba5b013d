import { describe, expect, it } from 'vitest'
import { decodeJsonReading, type DecodeResult } from '../../../src/stream/reading-codec.js'

const decode = (text: string): DecodeResult => decodeJsonReading(Buffer.from(text))
const T0 = Date.UTC(2024, 0, 1)

describe('decodeJsonReading', () => {
  it('reads a per-variable reading and a frame, with ISO or epoch-ms timestamps', () => {
    expect(decode('{"variable":"cpu","timestamp":"2024-01-01T00:00:00Z","value":0.25}')).toEqual({
      ok: true,
      readings: [{ variable: 'cpu', timestamp: T0, value: 0.25 }],
    })
    expect(decode(`{"timestamp":${T0 + 60_000},"values":{"cpu":1,"mem":-2.5}}`)).toEqual({
      ok: true,
      readings: [
        { variable: 'cpu', timestamp: T0 + 60_000, value: 1 },
        { variable: 'mem', timestamp: T0 + 60_000, value: -2.5 },
      ],
    })
    expect(decode('{"variable":"cpu","timestamp":"2024-01-01T01:30:00+01:30","value":1}')).toMatchObject({
      readings: [{ timestamp: T0 }],
    })
  })

  it.each([
    ['{not json', 'malformed_json'],
    ['[1,2]', 'wrong_shape'],
    ['{"variable":"cpu","timestamp":"2024-01-01T00:00:00Z","value":"1"}', 'wrong_shape'],
    ['{"timestamp":"2024-01-01T00:00:00Z","values":{}}', 'wrong_shape'],
    // Both shapes at once: which one was meant is unknown, so neither is taken.
    ['{"variable":"cpu","value":1,"timestamp":"2024-01-01T00:00:00Z","values":{"mem":2}}', 'wrong_shape'],
    ['{"variable":"cpu","timestamp":"2024-01-01T00:00:00Z","value":1e400}', 'non_finite_value'],
    ['{"variable":"cpu","timestamp":"yesterday","value":1}', 'bad_timestamp'],
    // Calendar-impossible dates are refused, not rolled over (Date.parse reads these as 1 March and the next day).
    ['{"variable":"cpu","timestamp":"2024-02-30T00:00:00Z","value":1}', 'bad_timestamp'],
    ['{"variable":"cpu","timestamp":"2024-01-01T24:00:00Z","value":1}', 'bad_timestamp'],
    ['{"variable":"cpu","timestamp":"1999-12-31T23:59:59Z","value":1}', 'timestamp_out_of_bounds'],
    ['{"variable":"cpu","timestamp":1.5,"value":1}', 'bad_timestamp'],
  ])('refuses %s as %s', (text, reason) => {
    const result = decode(text)
    expect(result.ok).toBe(false)
    if (!result.ok) {
      expect(result.reason).toBe(reason)
      expect(result.detail.length).toBeGreaterThan(3)
    }
  })
})
