import { EventEmitter } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Consumer } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { ConsumerSupervisor } from '../../../src/stream/consumer-supervisor.js'

/** The part of a kafkajs consumer the supervisor touches: its events and disconnect. */
class ConsumerDouble {
  readonly events = { GROUP_JOIN: 'consumer.group_join', CRASH: 'consumer.crash' }
  readonly #emitter = new EventEmitter()
  disconnected = false

  on(event: string, listener: (event: unknown) => void): () => void {
    this.#emitter.on(event, listener)
    return () => this.#emitter.off(event, listener)
  }

  disconnect(): Promise<void> {
    this.disconnected = true
    return Promise.resolve()
  }

  crash(message: string, restart: boolean): void {
    this.#emitter.emit(this.events.CRASH, { payload: { error: new Error(message), restart } })
  }

  join(): void {
    this.#emitter.emit(this.events.GROUP_JOIN, { payload: {} })
  }
}

/** Waits until `condition` holds (timers on a busy CI machine may fire late), at most 5 s. */
async function until(condition: () => boolean): Promise<void> {
  for (const started = Date.now(); !condition(); await sleep(5)) {
    if (Date.now() - started > 5000) throw new Error('condition not reached in 5 s')
  }
}

function supervised(failRuns = 0): {
  supervisor: ConsumerSupervisor
  consumers: ConsumerDouble[]
  logs: string[]
  told: { restarts: number }
} {
  const consumers: ConsumerDouble[] = []
  const logs: string[] = []
  const told = { restarts: 0 }
  let runs = 0
  const supervisor = new ConsumerSupervisor({
    name: 'test',
    logger: {
      info: (_: unknown, msg?: string) => logs.push(msg ?? ''),
      error: (_: unknown, msg?: string) => logs.push(msg ?? ''),
    },
    create: () => {
      const consumer = new ConsumerDouble()
      consumers.push(consumer)
      return consumer as unknown as Consumer
    },
    run: () => {
      runs++
      // The first run (start-up) succeeds; the next `failRuns` restarts fail.
      return runs > 1 && runs <= 1 + failRuns ? Promise.reject(new Error('broker unreachable')) : Promise.resolve()
    },
    backoff: { initialMs: 10, maxMs: 40 },
    onRestart: () => told.restarts++, // the service counts these in mvad_consumer_restarts_total
  })
  return { supervisor, consumers, logs, told }
}

describe('ConsumerSupervisor', () => {
  it('replaces a consumer that kafkajs will not restart, and is healthy again once the new one joins', async () => {
    const { supervisor, consumers } = supervised()
    await supervisor.start()
    consumers[0]?.join()
    consumers[0]?.crash('The coordinator is not aware of this member', false)
    expect(supervisor.crashed?.message).toBe('The coordinator is not aware of this member')
    await until(() => consumers.length === 2)
    expect(consumers[0]?.disconnected).toBe(true)
    expect(supervisor.restarts).toBe(1)
    expect(supervisor.crashed).toBeDefined() // until the new member joins
    consumers[1]?.join()
    expect(supervisor.crashed).toBeUndefined()
    await supervisor.stop()
  })

  it('leaves crashes that kafkajs restarts itself to kafkajs, and reports them until the consumer rejoins', async () => {
    const { supervisor, consumers } = supervised()
    await supervisor.start()
    consumers[0]?.crash('Connection timeout', true)
    await sleep(30)
    expect(consumers).toHaveLength(1) // no second consumer: kafkajs restarts this one
    expect(supervisor.restarts).toBe(0)
    expect(supervisor.crashed?.message).toBe('Connection timeout') // readiness: not consuming meanwhile
    consumers[0]?.join()
    expect(supervisor.crashed).toBeUndefined()
    await supervisor.stop()
  })

  it('keeps retrying a restart that fails, with a growing delay', async () => {
    const { supervisor, consumers, logs, told } = supervised(2)
    await supervisor.start()
    consumers[0]?.crash('Specified group generation id is not valid', false)
    await until(() => consumers.length === 4) // after 10 ms, then 20 and 40 after the two failed restarts
    expect(supervisor.restarts).toBe(3)
    expect(told.restarts).toBe(3)
    expect(logs.filter((l) => l === 'consumer restart failed')).toHaveLength(2)
    consumers[3]?.join()
    expect(supervisor.crashed).toBeUndefined()
    await supervisor.stop()
  })

  it('does not restart after stop', async () => {
    const { supervisor, consumers } = supervised()
    await supervisor.start()
    consumers[0]?.crash('boom', false)
    await supervisor.stop()
    await sleep(30)
    expect(consumers).toHaveLength(1)
  })

  it('starts no new consumer when stop comes while the crashed one disconnects', async () => {
    const { supervisor, consumers } = supervised()
    await supervisor.start()
    const first = consumers[0] as ConsumerDouble
    let finishDisconnect: (() => void) | undefined
    // The first disconnect (the restart's) is slow, as a broker can be; later ones are immediate.
    first.disconnect = () =>
      finishDisconnect === undefined ? new Promise<void>((resolve) => (finishDisconnect = resolve)) : Promise.resolve()
    first.crash('boom', false)
    await until(() => finishDisconnect !== undefined) // the restart now waits for the disconnect
    const stopped = supervisor.stop()
    finishDisconnect?.()
    await stopped
    await sleep(30)
    expect(consumers).toHaveLength(1)
  })
})
