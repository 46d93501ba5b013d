/**
 * Sends that fit the broker, and dead letters that always fit their topic. kafkajs puts all of one partition's
 * messages of a send into one record batch and never splits it, and the broker refuses a batch over its
 * `message.max.bytes` (1 MB by default): a flood of dead letters (every reading of an unbound entity in a 1 MB fetch)
 * or of scores made a batch the broker refused on every retry. So sends are cut into requests of at most
 * MAX_REQUEST_BYTES (estimated).
 *
 * Dead letters: A dead letter carries the original key and bytes plus headers saying
 * why; a reason's detail can quote the record (a 700 KB variable name, say), and with the original bytes beside it
 * the message outgrew what the broker accepts (1 MB by default): the send failed, the batch was retried, and the
 * partition — the whole consumer — stalled on that one record for ever. So details are cut to a bound, and a dead
 * letter the broker still refuses as too large is sent again without its value (headers name where the original
 * is: source topic, partition and offset).
 */
import type { Message } from 'kafkajs'

/** Largest estimated size of one send request: under the broker's default 1 MB batch limit, with room to spare. */
export const MAX_REQUEST_BYTES = 512 * 1024

/** A message's size on the wire, roughly: key, value, headers and per-record overhead. */
export function estimatedBytes(message: Message): number {
  const size = (v: unknown): number =>
    Buffer.isBuffer(v)
      ? v.length
      : typeof v === 'string'
        ? Buffer.byteLength(v)
        : Array.isArray(v)
          ? v.reduce((n: number, item: unknown) => n + size(item), 0)
          : 0
  let bytes = 64 + size(message.key) + size(message.value)
  for (const [name, value] of Object.entries(message.headers ?? {})) bytes += 8 + Buffer.byteLength(name) + size(value)
  return bytes
}

/**
 * `groups` (messages per topic) cut into requests of at most `maxBytes` (estimated; a single larger message goes
 * alone), in order.
 */
export function inRequests<T extends { messages: Message[] }>(
  groups: readonly T[],
  maxBytes = MAX_REQUEST_BYTES,
): T[][] {
  const requests: T[][] = []
  let current: T[] = []
  let bytes = 0
  for (const group of groups) {
    let chunk: Message[] = []
    for (const message of group.messages) {
      const size = estimatedBytes(message)
      if (bytes + size > maxBytes && bytes > 0) {
        if (chunk.length > 0) current.push({ ...group, messages: chunk })
        requests.push(current)
        current = []
        chunk = []
        bytes = 0
      }
      chunk.push(message)
      bytes += size
    }
    if (chunk.length > 0) current.push({ ...group, messages: chunk })
  }
  if (current.length > 0) requests.push(current)
  return requests
}

/**
 * Longest key left to the producer's partitioner. kafkajs hashes keys with a murmur2 built on long.js whose cost
 * grows about with the square of the key's length (100 KB: 0.8 s; 600 KB: 80 s of a blocked event loop, the
 * consumer evicted, the batch retried for ever). Entity ids are at most 256 characters; a longer key is only ever
 * forwarded in a dead letter, which then names its partition (0) instead.
 */
export const MAX_HASHED_KEY_BYTES = 1_024

/** The message with partition 0 set when its key is too long to hash (see MAX_HASHED_KEY_BYTES). */
export function partitionedIfLongKey(message: Message): Message {
  const key = message.key
  const bytes = key === null || key === undefined ? 0 : Buffer.isBuffer(key) ? key.length : Buffer.byteLength(key)
  return bytes > MAX_HASHED_KEY_BYTES ? { ...message, partition: 0 } : message
}

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
 * Sends `groups` in requests of at most MAX_REQUEST_BYTES, in order. A request the broker still refuses as too large
 * (a topic with a smaller limit, one huge message) is split in halves until it goes through; a single dead letter
 * still refused is sent without its value. Anything else refused alone is thrown.
 */
export async function sendFitting<T extends { messages: Message[] }>(
  groups: T[],
  isDeadLetters: (group: T) => boolean,
  send: (groups: T[]) => Promise<unknown>,
): Promise<{ valuesDropped: number }> {
  let valuesDropped = 0
  for (const request of inRequests(groups)) valuesDropped += await sendRequest(request, isDeadLetters, send)
  return { valuesDropped }
}

async function sendRequest<T extends { messages: Message[] }>(
  groups: T[],
  isDeadLetters: (group: T) => boolean,
  send: (groups: T[]) => Promise<unknown>,
): Promise<number> {
  try {
    await send(groups)
    return 0
  } catch (error) {
    if (!isMessageTooLarge(error)) throw error
    const count = groups.reduce((n, group) => n + group.messages.length, 0)
    if (count > 1) {
      const [first, second] = halves(groups, Math.ceil(count / 2))
      return (await sendRequest(first, isDeadLetters, send)) + (await sendRequest(second, isDeadLetters, send))
    }
    const only = groups.find((group) => group.messages.length > 0)
    if (only === undefined || !isDeadLetters(only)) throw error
    await send([{ ...only, messages: only.messages.map(withoutValue) }])
    return 1
  }
}

/** The groups' messages split after the first `n`, keeping each message in its group and the order. */
function halves<T extends { messages: Message[] }>(groups: readonly T[], n: number): [T[], T[]] {
  const first: T[] = []
  const second: T[] = []
  let left = n
  for (const group of groups) {
    const head = group.messages.slice(0, Math.max(0, left))
    const tail = group.messages.slice(head.length)
    if (head.length > 0) first.push({ ...group, messages: head })
    if (tail.length > 0) second.push({ ...group, messages: tail })
    left -= head.length
  }
  return [first, second]
}
