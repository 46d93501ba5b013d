import { describe, expect, it } from 'vitest'
import { DeadLetterLog, type DeadLetterSummary } from '../../../src/stream/dead-letter-log.js'

/** A one-minute log on a clock the test moves, and what it said. */
function minuteLog(clock: { now: number }): { log: DeadLetterLog; emitted: DeadLetterSummary[] } {
  const emitted: DeadLetterSummary[] = []
  return {
    log: new DeadLetterLog(
      (s) => emitted.push(s),
      60_000,
      () => clock.now,
    ),
    emitted,
  }
}

describe('DeadLetterLog', () => {
  it('summarises dead letters at most once an interval: counts by reason and the first example of each', () => {
    const clock = { now: 0 }
    const { log, emitted } = minuteLog(clock)
    log.add('unknown_entity', 'no model bound to pump-9', 'pump-9')
    log.add('unknown_entity', 'no model bound to pump-8', 'pump-8')
    clock.now = 30_000
    log.add('malformed_json', 'Unexpected token', null)
    log.flushIfDue()
    expect(emitted).toEqual([]) // within the first minute
    clock.now = 61_000
    log.flushIfDue()
    expect(emitted).toEqual([
      {
        seconds: 61,
        counts: { unknown_entity: 2, malformed_json: 1 },
        examples: {
          unknown_entity: { detail: 'no model bound to pump-9', key: 'pump-9' },
          malformed_json: { detail: 'Unexpected token', key: null },
        },
      },
    ])
    // Quiet: nothing to say. The next dead letter after a quiet minute is said at once.
    clock.now = 200_000
    log.flushIfDue()
    expect(emitted).toHaveLength(1)
    log.add('wrong_shape', 'x'.repeat(1_000), 'k'.repeat(1_000))
    expect(emitted).toHaveLength(2)
    expect(emitted[1]?.counts).toEqual({ wrong_shape: 1 })
    expect(emitted[1]?.examples.wrong_shape?.detail).toHaveLength(300)
    expect(emitted[1]?.examples.wrong_shape?.key).toHaveLength(256)
  })

  it('says the last dead letters when the service stops, and starts a new window with the first letter after a summary', () => {
    const clock = { now: 0 }
    const { log, emitted } = minuteLog(clock)
    clock.now = 100_000
    log.add('unknown_entity', 'a', 'k') // a quiet minute before it: said at once
    clock.now = 130_000
    log.add('unknown_entity', 'b', 'k') // 30 s after the summary: waits
    log.flushIfDue()
    expect(emitted.map((e) => e.counts)).toEqual([{ unknown_entity: 1 }])
    clock.now = 150_000
    log.flushIfDue(true) // stopping
    expect(emitted.map((e) => [e.seconds, e.counts])).toEqual([
      [100, { unknown_entity: 1 }],
      [20, { unknown_entity: 1 }],
    ])
  })
})
