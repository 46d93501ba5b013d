/** A PartitionWorker on in-memory stores with a recording sink, and the messages its unit tests feed it. */
import { MemoryBindingStore } from '../../src/state/binding-store.js'
import { MemoryModelStore } from '../../src/state/model-store.js'
import { MemoryWindowStore, type WindowStore } from '../../src/state/window-store.js'
import { ModelResolver, type LoadedModel } from '../../src/stream/model-runtime.js'
import { windowMeanModel } from './window-mean-model.js'
import {
  PartitionWorker,
  type DeadLetter,
  type InputMessage,
  type OutgoingEvent,
  type WorkerObserver,
  type WorkerSink,
} from '../../src/stream/partition-worker.js'
import { decodeJsonReading } from '../../src/stream/reading-codec.js'

export const VARIABLES = ['a', 'b']
export const WINDOW = 4
export const T0 = Date.UTC(2024, 0, 1)
export const MINUTE = 60_000

export function testModel(stateJson: string, identity: { modelId: string; version: number }): LoadedModel {
  return windowMeanModel(stateJson, identity)
}

export class RecordingSink implements WorkerSink {
  published: OutgoingEvent[] = []
  deadLetters: DeadLetter[] = []
  failNext = false
  constructor(private readonly log: string[]) {}
  publish(events: readonly OutgoingEvent[], deadLetters: readonly DeadLetter[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false
      return Promise.reject(new Error('broker down'))
    }
    this.log.push(`publish:${events.length}`)
    this.published.push(...events)
    for (const letter of deadLetters) this.deadLetters.push(letter)
    return Promise.resolve()
  }
}

export function loggingStore(inner: WindowStore, log: string[]): WindowStore {
  return {
    load: (entity) => inner.load(entity),
    append: async (entity, capacity, change) => {
      const result = await inner.append(entity, capacity, change)
      log.push(`append:${change.rows.length}`)
      return result
    },
    clearPendingEvents: async (acks) => {
      await inner.clearPendingEvents(acks)
      log.push('clear')
    },
    delete: (entity) => inner.delete(entity),
    saveProgress: (scope, partition, offset) => inner.saveProgress(scope, partition, offset),
    loadProgress: (scope, partition) => inner.loadProgress(scope, partition),
  }
}

export async function setup(
  windows: WindowStore = new MemoryWindowStore(),
  log: string[] = [],
  { observer, ...extra }: { frameIdleFlushMs?: number; maxFutureMs?: number; observer?: WorkerObserver } = {},
) {
  const bindings = new MemoryBindingStore()
  const models = new MemoryModelStore()
  await models.registerReady('m', JSON.stringify({ threshold: 5, variables: VARIABLES, slidingWindow: WINDOW }), {
    variables: VARIABLES,
    slidingWindow: WINDOW,
  })
  await bindings.set('dev-1', { modelId: 'm' })
  const sink = new RecordingSink(log)
  const makeWorker = (resolver = new ModelResolver(bindings, models, testModel)): PartitionWorker =>
    new PartitionWorker({
      windows: loggingStore(windows, log),
      models: resolver,
      sink,
      options: {
        allowedLatenessMs: 0,
        topContributorCount: 10,
        publishScores: true,
        ...extra,
        decode: (message) => Promise.resolve(decodeJsonReading(message.value ?? Buffer.alloc(0))),
      },
      ...(observer === undefined ? {} : { observer }),
    })
  return { windows, sink, log, makeWorker, bindings, models }
}

let offset = 0n
/** Offsets increase across every message the tests make, as in one partition. */
export const nextOffset = (): bigint => offset++
export function msg(entity: string | null, body: unknown, kafkaTimestamp = Date.now()): InputMessage {
  return {
    key: entity === null ? null : Buffer.from(entity),
    value: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    offset: offset++,
    kafkaTimestamp,
  }
}
export const frame = (i: number, a: number, b = 0) => msg('dev-1', { timestamp: T0 + i * MINUTE, values: { a, b } })

export function isoOf(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}
