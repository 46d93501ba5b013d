/**
 * Step 1 of the partition worker's order of work: a batch of messages → each entity's readings (in offset order)
 * and the dead letters of the records that cannot become readings. Also the wording of the dead letters the frame
 * step refuses readings with, so every reason a reading is dropped is phrased in one place.
 */
import type { EpochMs } from '../domain/types.js'
import type { PendingReading } from './frame-assembler.js'
import { readingsAhead } from './reading-codec.js'
import type { DeadLetter, DeadLetterReason, InputMessage, PartitionWorkerOptions } from './worker-types.js'

/** Longest entity key, in bytes: 256 characters (the control schema's limit on entity ids) of up to 4 bytes. */
export const MAX_ENTITY_KEY_BYTES = 1_024

/** One message's readings, each stamped with the message's offset. */
export interface EntityItem {
  message: InputMessage
  readings: PendingReading[]
}

/** Decodes every message of a batch and groups the readings by entity (the message key), first seen first. */
export async function groupByEntity(
  messages: readonly InputMessage[],
  options: Pick<PartitionWorkerOptions, 'decode' | 'maxFutureMs'>,
): Promise<{ byEntity: Map<string, EntityItem[]>; deadLetters: DeadLetter[] }> {
  const deadLetters: DeadLetter[] = []
  const byEntity = new Map<string, EntityItem[]>()
  for (const message of messages) {
    const keyBytes = message.key?.length ?? 0
    if (keyBytes > MAX_ENTITY_KEY_BYTES) {
      // Before any lookup: an entity id is at most 256 characters, so no binding can name it.
      deadLetters.push({
        message,
        reason: 'key_too_long',
        detail: `message key of ${keyBytes} bytes; an entity id is at most 256 characters (${MAX_ENTITY_KEY_BYTES} bytes)`,
      })
      continue
    }
    const entity = message.key?.toString('utf8') ?? ''
    if (entity === '') {
      deadLetters.push({ message, reason: 'missing_key', detail: 'message key (the entity) is empty' })
      continue
    }
    const pending = options.decode(message)
    const decoded = pending instanceof Promise ? await pending : pending
    if (!decoded.ok) {
      deadLetters.push({ message, reason: decoded.reason, detail: decoded.detail })
      continue
    }
    const ahead = readingsAhead(decoded.readings, message.kafkaTimestamp, options.maxFutureMs ?? 0)
    if (ahead !== undefined) {
      deadLetters.push({ message, reason: ahead.reason, detail: ahead.detail })
      continue
    }
    const readings = decoded.readings.map((r) => ({ ...r, offset: message.offset }))
    const list = byEntity.get(entity) ?? []
    list.push({ message, readings })
    byEntity.set(entity, list)
  }
  return { byEntity, deadLetters }
}

/** `rejected` (made on first use) with `variable` added under `reason`. */
export function withRejected(
  rejected: Map<DeadLetterReason, string[]> | undefined,
  reason: DeadLetterReason,
  variable: string,
): Map<DeadLetterReason, string[]> {
  const map = rejected ?? new Map<DeadLetterReason, string[]>()
  const variables = map.get(reason)
  if (variables === undefined) map.set(reason, [variable])
  else variables.push(variable)
  return map
}

/** One dead letter per reason for the readings of `message` the frame step refused, naming their variables. */
export function rejectedDeadLetters(
  message: InputMessage,
  frameTimestamp: EpochMs,
  rejected: ReadonlyMap<DeadLetterReason, string[]>,
  modelName: string,
): DeadLetter[] {
  const at = new Date(frameTimestamp).toISOString()
  return [...rejected].map(([reason, variables]) => {
    const named = `${variables.length === 1 ? 'variable' : 'variables'} ${variables.map((v) => `"${v}"`).join(', ')}`
    const detail =
      reason === 'unknown_variable'
        ? `${named} not in model ${modelName}`
        : reason === 'late_after_emit'
          ? `reading of ${named} at ${at} arrived after its frame was scored`
          : `reading of ${named} at ${at} is older than the entity's newest timestamp minus the allowed lateness (MVAD_ALLOWED_LATENESS_MS)`
    return { message, reason, detail }
  })
}

/**
 * A carried reading as an input item: its own message (entity key, the reading as JSON, the smallest offset of the
 * frame it waited in), so a dead letter still says what was dropped.
 */
export function carriedItem(entity: string, reading: PendingReading): EntityItem {
  const body = {
    variable: reading.variable,
    timestamp: new Date(reading.timestamp).toISOString(),
    value: reading.value,
  }
  return {
    message: {
      key: Buffer.from(entity),
      value: Buffer.from(JSON.stringify(body)),
      offset: reading.offset,
      kafkaTimestamp: Date.now(),
      rebuilt: true,
    },
    readings: [reading],
  }
}
