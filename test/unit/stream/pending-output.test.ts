import { describe, expect, it } from 'vitest'
import type { AnomalyEvent } from '../../../src/stream/anomaly-event.js'
import {
  isWindowDeadLetter,
  parsePendingOutput,
  storedDeadLetter,
  storedEvent,
} from '../../../src/stream/pending-output.js'
import type { DeadLetter } from '../../../src/stream/worker-types.js'

const event = { eventId: 'e1', entity: 'dev-1', isAnomaly: true, score: 2 } as unknown as AnomalyEvent

describe('pending output of a window', () => {
  it('gives back events and dead letters as stored, bytes and offsets exact, in order', () => {
    const letter: DeadLetter = {
      message: { key: Buffer.from('dev-1'), value: Buffer.from([0, 255, 7]), offset: 2n ** 60n, kafkaTimestamp: 17 },
      reason: 'late_after_emit',
      detail: 'frame already scored',
    }
    const keyless: DeadLetter = { ...letter, message: { ...letter.message, key: null, value: null, rebuilt: true } }
    const stored = [storedEvent({ entity: 'dev-1', event, isAnomaly: true }), storedDeadLetter(letter)]
    stored.push(storedDeadLetter(keyless))
    const { events, deadLetters } = parsePendingOutput('dev-1', stored)
    expect(events).toEqual([{ entity: 'dev-1', event, isAnomaly: true }])
    expect(deadLetters).toEqual([letter, keyless])
  })

  it('reads the events earlier builds stored (plain event JSON)', () => {
    expect(parsePendingOutput('dev-1', [JSON.stringify({ ...event, isAnomaly: false })]).events).toEqual([
      { entity: 'dev-1', event: { ...event, isAnomaly: false }, isAnomaly: false },
    ])
  })

  it('keeps only the dead letters a replay would not make again', () => {
    const of = (reason: DeadLetter['reason']): DeadLetter => ({
      message: { key: null, value: null, offset: 0n, kafkaTimestamp: 0 },
      reason,
      detail: '',
    })
    expect(isWindowDeadLetter(of('late_after_emit'))).toBe(true)
    expect(isWindowDeadLetter(of('late_beyond_lateness'))).toBe(true)
    // Decided before the replay check from the record alone: made again when the batch is read again.
    expect(isWindowDeadLetter(of('unknown_variable'))).toBe(false)
    expect(isWindowDeadLetter(of('malformed_json'))).toBe(false)
  })
})
