/**
 * The output a window append persists with its rows until the sink acknowledges it: the entity's events and its late
 * readings' dead letters. After a crash or a failed publish the batch is read again, and its readings are then
 * recognised as covered by the window ("replayed") — so whatever they produced must come back from the store, or it
 * is lost: an event never published, a late reading dropped without a trace.
 *
 * Stored as strings: an event as its JSON (the format of every earlier build), a dead letter as
 * `{"deadLetter": {…}}` with the record's key and value in base64.
 */
import type { AnomalyEvent } from './anomaly-event.js'
import type { DeadLetter, DeadLetterReason, OutgoingEvent } from './worker-types.js'

interface StoredDeadLetter {
  deadLetter: {
    key: string | null
    value: string | null
    offset: string
    kafkaTimestamp: number
    reason: DeadLetterReason
    detail: string
    rebuilt?: true
  }
}

/** Dead letters that only the window knows to make again (a replayed reading is skipped before it is found late). */
export function isWindowDeadLetter(letter: DeadLetter): boolean {
  return letter.reason === 'late_after_emit' || letter.reason === 'late_beyond_lateness'
}

/**
 * `made` without the window dead letters of records whose stored dead letter goes out again: a late reading that no
 * scored frame covers yet is judged late again when its batch is read again, and should go out once.
 */
export function withoutRepeats(made: readonly DeadLetter[], stored: readonly DeadLetter[]): DeadLetter[] {
  if (stored.length === 0) return [...made]
  const storedOffsets = new Set(stored.filter(isWindowDeadLetter).map((letter) => letter.message.offset))
  return made.filter((letter) => !(isWindowDeadLetter(letter) && storedOffsets.has(letter.message.offset)))
}

export function storedEvent(event: OutgoingEvent): string {
  return JSON.stringify(event.event)
}

export function storedDeadLetter({ message, reason, detail }: DeadLetter): string {
  const stored: StoredDeadLetter = {
    deadLetter: {
      key: message.key?.toString('base64') ?? null,
      value: message.value?.toString('base64') ?? null,
      offset: message.offset.toString(),
      kafkaTimestamp: message.kafkaTimestamp,
      reason,
      detail,
      ...(message.rebuilt === true ? { rebuilt: true as const } : {}),
    },
  }
  return JSON.stringify(stored)
}

/** Splits an entity's stored output back into events and dead letters, in the order they were stored. */
export function parsePendingOutput(
  entity: string,
  stored: readonly string[],
): { events: OutgoingEvent[]; deadLetters: DeadLetter[] } {
  const events: OutgoingEvent[] = []
  const deadLetters: DeadLetter[] = []
  for (const json of stored) {
    const parsed = JSON.parse(json) as AnomalyEvent | StoredDeadLetter
    if ('deadLetter' in parsed) {
      const d = parsed.deadLetter
      deadLetters.push({
        message: {
          key: d.key === null ? null : Buffer.from(d.key, 'base64'),
          value: d.value === null ? null : Buffer.from(d.value, 'base64'),
          offset: BigInt(d.offset),
          kafkaTimestamp: d.kafkaTimestamp,
          ...(d.rebuilt === true ? { rebuilt: true as const } : {}),
        },
        reason: d.reason,
        detail: d.detail,
      })
    } else {
      events.push({ entity, event: parsed, isAnomaly: parsed.isAnomaly })
    }
  }
  return { events, deadLetters }
}
