import { describe, expect, it, vi } from 'vitest'
import { RedisBindingStore } from '../../src/state/redis-binding-store.js'
import { bindingStoreContract } from '../contracts/binding-store.contract.js'
import { redisForContract } from '../support/redis-contract.js'

const { redis, keys, nextId, scope } = redisForContract('bs')
bindingStoreContract('redis', () => ({ store: new RedisBindingStore(redis, keys), entity: () => nextId('e') }))

describe('RedisBindingStore subscription', () => {
  it('tells the listener notices may have been missed when its connection comes back, and keeps listening', async () => {
    const store = new RedisBindingStore(redis, keys)
    const heard: string[] = []
    let missed = 0
    const unsubscribe = await store.subscribe(
      (entity) => heard.push(entity),
      () => missed++,
    )
    try {
      // Drop the subscriber's connection, as a network blip or a Redis restart would.
      const clients = (await redis.client('LIST')) as string
      const name = `mvad-bindings:${keys.bindingChanges()}`
      const line = clients.split('\n').find((l) => l.includes(` name=${name} `))
      expect(line).toBeDefined()
      const id = /\bid=(\d+)/.exec(line ?? '')?.[1] ?? ''
      await redis.client('KILL', 'ID', id)
      await vi.waitFor(() => expect(missed).toBe(1), { timeout: 10_000, interval: 50 })
      const entity = nextId('after-')
      await vi.waitFor(
        async () => {
          await store.set(entity, { modelId: 'm' })
          expect(heard).toContain(entity)
        },
        { timeout: 10_000, interval: 200 },
      )
    } finally {
      await unsubscribe()
    }
  })
})

describe('RedisBindingStore list', () => {
  it('reads bindings in chunks: every entity of a few thousand, in order, skipping an index entry with no binding', async () => {
    const scoped = scope('many')
    const store = new RedisBindingStore(redis, scoped)
    const entities = Array.from({ length: 2_345 }, (_, i) => `e${String(i).padStart(5, '0')}`)
    const write = redis.pipeline()
    for (const [i, entity] of entities.entries()) {
      write.set(scoped.binding(entity), JSON.stringify({ modelId: `m${i % 7}` }))
      write.sadd(scoped.bindingIndex(), entity)
    }
    await write.exec()
    await redis.del(scoped.binding('e01500')) // its index entry stays (older builds wrote the two apart; a crash between left this)
    const listed = await store.list()
    expect(listed).toHaveLength(entities.length - 1)
    expect(listed.map((x) => x.entity)).toEqual(entities.filter((e) => e !== 'e01500'))
    expect(listed[2_000]).toEqual({ entity: 'e02001', binding: { modelId: `m${2_001 % 7}` } })
  })
})
