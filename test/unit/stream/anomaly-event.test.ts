import { describe, expect, it } from 'vitest'
import { createScorer, fitModel } from '../../../src/model/index.js'
import { eventId, isoTimestamp, toAnomalyEvent } from '../../../src/stream/anomaly-event.js'
import { jsonSchemaProblems } from '../../support/json-schema.js'
import { syntheticSeries } from '../model/synthetic.js'

const W = 28

describe('anomaly events', () => {
  const problems = jsonSchemaProblems('anomaly-event.v1.json')
  const train = syntheticSeries(600, 4, 3)
  const { state } = fitModel(train, { slidingWindow: W })
  const test = syntheticSeries(120, 4, 9).rows.map((row) => Float64Array.from(row))
  for (let t = 80; t < 90; t++) (test[t] as Float64Array)[2] = 6
  const values = createScorer(state).scoreSeries(test, 3)
  const t0 = Date.UTC(2024, 0, 1)
  const events = values.flatMap((value, i) =>
    value === null ? [] : [toAnomalyEvent('pump-1', { modelId: 'pumps', version: 2 }, t0 + i * 60_000, value)],
  )

  it('match schemas/json/anomaly-event.v1.json, anomalous or not, shadow or not', () => {
    const anomalous = events.filter((e) => e.isAnomaly)
    expect(anomalous.length).toBeGreaterThan(0)
    expect(events.some((e) => !e.isAnomaly)).toBe(true)
    for (const event of [...events, { ...anomalous[0], shadow: true }]) expect(problems(event)).toEqual([])
    expect(anomalous[0]?.interpretation.length).toBeGreaterThan(0)
  })

  it('name the variables filled for the frame, only when there are some, and match the schema with them', () => {
    const value = values.find((v) => v !== null) ?? null
    if (value === null) throw new Error('no scored row')
    const filled = toAnomalyEvent('pump-1', { modelId: 'pumps', version: 2 }, t0, value, ['x1', 'x3'])
    expect(filled.filledVariables).toEqual(['x1', 'x3'])
    expect(problems(filled)).toEqual([])
    expect(problems({ ...filled, filledVariables: [1] })).toEqual(['/filledVariables/0 must be string'])
    expect('filledVariables' in toAnomalyEvent('pump-1', { modelId: 'pumps', version: 2 }, t0, value, [])).toBe(false)
  })

  it('are refused by the schema when a field is wrong (the check can fail)', () => {
    const event = events[0]
    expect(problems({ ...event, severity: 1.5 })).toEqual(['/severity must be <= 1'])
    expect(problems({ ...event, timestamp: '2024-01-01 00:00' })).toEqual(['/timestamp must match format "date-time"'])
    const { eventId: _id, ...withoutId } = event ?? {}
    expect(problems(withoutId)).toEqual(["/ must have required property 'eventId'"])
  })

  it('carry an eventId fixed by entity, model version and timestamp, shaped as an RFC 9562 UUID (version 8)', () => {
    const id = eventId('pump-1', 'pumps', 2, t0)
    expect(id).toBe(eventId('pump-1', 'pumps', 2, t0))
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    const others = [
      eventId('pump-1', 'pumps', 3, t0),
      eventId('pump-2', 'pumps', 2, t0),
      eventId('pump-1', 'pumps', 2, t0 + 1),
    ]
    expect(new Set([id, ...others]).size).toBe(4)
  })

  it('write timestamps as MVAD does: milliseconds only when there are some', () => {
    expect(isoTimestamp(t0)).toBe('2024-01-01T00:00:00Z')
    expect(isoTimestamp(t0 + 250)).toBe('2024-01-01T00:00:00.250Z')
  })
})
