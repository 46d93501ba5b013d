/**
 * Dead letters that always fit their topic. A dead letter carries the original key and bytes plus headers saying
 * why; a reason's detail can quote the record (a 700 KB variable name, say), and with the original bytes beside it
 * the message outgrew what the broker accepts (1 MB by default): the send failed, the batch was retried, and the
 * partition — the whole consumer — stalled on that one record for ever. So details are cut to a bound, and a dead
 * letter the broker still refuses as too large is sent again without its value (headers name where the original
 * is: source topic, partition and offset).
 */
import type { Message } from 'kafkajs'

/** Longest detail kept in a header (and a log line), in characters. */
export const MAX_DETAIL_CHARS = 2_000

/** The detail, cut to MAX_DETAIL_CHARS with a note of how much was left out. */
export function boundedDetail(detail: string): string {
  if (detail.length <= MAX_DETAIL_CHARS) return detail
  return `${detail.slice(0, MAX_DETAIL_CHARS)}… (${detail.length - MAX_DETAIL_CHARS} more characters)`
}

/**
 * Whether a send failed because a message or batch was larger than the broker or topic accepts (Kafka errors 10
 * MESSAGE_TOO_LARGE and 18 RECORD_LIST_TOO_LARGE), however kafkajs wrapped it.
 */
export function isMessageTooLarge(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const candidate = e as { type?: unknown; cause?: unknown; originalError?: unknown }
    if (candidate.type === 'MESSAGE_TOO_LARGE' || candidate.type === 'RECORD_LIST_TOO_LARGE') return true
    e = candidate.cause ?? candidate.originalError
  }
  return false
}

/** The dead letter without the original bytes (too large to forward), saying so and how large they were. */
export function withoutValue(message: Message): Message {
  const size = message.value === null || message.value === undefined ? 0 : Buffer.byteLength(message.value)
  return {
    ...message,
    value: null,
    headers: {
      ...message.headers,
      'mvad-dlq-value-dropped': `${size} bytes: too large for the dead-letter topic; the original is at mvad-source-topic / -partition / -offset`,
    },
  }
}

/**
 * Sends `send(messages)`; if the broker refuses a message as too large, sends the dead letters again without their
 * values (other messages as they are). A second refusal is thrown: then something else is too large.
 */
export async function sendFitting<T extends { messages: Message[] }>(
  groups: T[],
  isDeadLetters: (group: T) => boolean,
  send: (groups: T[]) => Promise<unknown>,
): Promise<{ valuesDropped: number }> {
  try {
    await send(groups)
    return { valuesDropped: 0 }
  } catch (error) {
    if (!isMessageTooLarge(error)) throw error
    let valuesDropped = 0
    const slimmed = groups.map((group) => {
      if (!isDeadLetters(group)) return group
      valuesDropped += group.messages.length
      return { ...group, messages: group.messages.map(withoutValue) }
    })
    if (valuesDropped === 0) throw error
    await send(slimmed)
    return { valuesDropped }
  }
}
