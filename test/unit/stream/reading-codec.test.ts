import { describe, expect, it } from 'vitest'
import { decodeJsonReading, validateReadingObject, type DecodeResult } from '../../../src/stream/reading-codec.js'

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
    // RFC 3339 allows a lower-case t and z (the JSON schema's date-time).
    expect(decode('{"variable":"cpu","timestamp":"2024-01-01t00:00:00z","value":1}')).toMatchObject({
      readings: [{ timestamp: T0 }],
    })
  })

  it("leaves a frame's null or NaN values out as missing (filled downstream), keeping its other values", () => {
    expect(decode(`{"timestamp":${T0},"values":{"cpu":null,"mem":0.5}}`)).toEqual({
      ok: true,
      readings: [{ variable: 'mem', timestamp: T0, value: 0.5 }],
    })
    // Avro frames (map<double>) can only say "missing" with NaN.
    expect(validateReadingObject({ timestamp: T0, values: { cpu: Number.NaN, mem: 1 } })).toEqual({
      ok: true,
      readings: [{ variable: 'mem', timestamp: T0, value: 1 }],
    })
    const allMissing = decode(`{"timestamp":${T0},"values":{"cpu":null,"mem":null}}`)
    expect(allMissing).toMatchObject({ ok: false, reason: 'wrong_shape' })
    expect(allMissing.ok ? '' : allMissing.detail).toContain('every value is null or NaN')
    // Infinity is not "missing": it is refused as before.
    expect(validateReadingObject({ timestamp: T0, values: { cpu: Number.POSITIVE_INFINITY, mem: 1 } })).toMatchObject({
      ok: false,
      reason: 'non_finite_value',
    })
    // A single reading of null says nothing: the producer is told to leave it out.
    const single = decode('{"variable":"cpu","timestamp":"2024-01-01T00:00:00Z","value":null}')
    expect(single).toMatchObject({ ok: false, reason: 'wrong_shape' })
    expect(single.ok ? '' : single.detail).toContain('leave a missing reading out')
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
