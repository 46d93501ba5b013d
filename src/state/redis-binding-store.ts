/**
 * BindingStore on Redis: one JSON string per entity, a set of bound entities (for `list`), changes published on a
 * channel (subscriber connection).
 */
import type { ChainableCommander, Redis } from 'ioredis'
import type { KeySpace } from './keys.js'
import { SET_FENCED_BINDING_LUA } from './lua/scripts.js'
import {
  parseBinding,
  type BindFence,
  type BindingListener,
  type BindingStore,
  type EntityBinding,
  type ModelBinding,
} from './binding-store.js'

const LIST_CHUNK = 1000

type SetFencedCommand = (numberOfKeys: number, ...keysThenArgs: (string | number)[]) => Promise<number>

/** Runs a MULTI … EXEC; throws the first command's error (ioredis reports them per command, not by rejecting). */
async function transaction(multi: ChainableCommander): Promise<void> {
  const replies = await multi.exec()
  if (replies === null) throw new Error('Redis transaction aborted')
  for (const [error] of replies) if (error !== null) throw error
}

export class RedisBindingStore implements BindingStore {
  readonly #redis: Redis
  readonly #keys: KeySpace

  constructor(redis: Redis, keys: KeySpace) {
    this.#redis = redis
    this.#keys = keys
    // No numberOfKeys: a fence names as many claim sets as the binding names models.
    if (!('mvadSetFencedBinding' in redis)) redis.defineCommand('mvadSetFencedBinding', { lua: SET_FENCED_BINDING_LUA })
  }

  async setFenced(entity: string, binding: ModelBinding, fence: BindFence): Promise<boolean> {
    const command = (this.#redis as unknown as { mvadSetFencedBinding: SetFencedCommand }).mvadSetFencedBinding
    const keys = [
      this.#keys.binding(entity),
      this.#keys.bindingIndex(),
      ...fence.map((f) => this.#keys.modelBinding(f.modelId)),
    ]
    const args = [JSON.stringify(binding), entity, ...fence.map((f) => f.token)]
    const written = await command.call(this.#redis, keys.length, ...keys, ...args)
    if (written !== 1) return false
    await this.#redis.publish(this.#keys.bindingChanges(), entity)
    return true
  }

  // The binding and its index entry are written in one transaction: a binding missing from the index would be missed
  // by `list`, so by a model's delete (state/model-deletion.ts), while still scoring its entity.
  async set(entity: string, binding: ModelBinding): Promise<void> {
    await transaction(
      this.#redis
        .multi()
        .set(this.#keys.binding(entity), JSON.stringify(binding))
        .sadd(this.#keys.bindingIndex(), entity),
    )
    await this.#redis.publish(this.#keys.bindingChanges(), entity)
  }

  async get(entity: string): Promise<ModelBinding | undefined> {
    const raw = await this.#redis.get(this.#keys.binding(entity))
    return raw === null ? undefined : parseBinding(raw)
  }

  async delete(entity: string): Promise<void> {
    await transaction(this.#redis.multi().del(this.#keys.binding(entity)).srem(this.#keys.bindingIndex(), entity))
    await this.#redis.publish(this.#keys.bindingChanges(), entity)
  }

  async list(): Promise<EntityBinding[]> {
    const entities = (await this.#redis.smembers(this.#keys.bindingIndex())).sort()
    const out: EntityBinding[] = []
    // A round trip per LIST_CHUNK entities, not per entity: a model's delete lists them all.
    for (let start = 0; start < entities.length; start += LIST_CHUNK) {
      const chunk = entities.slice(start, start + LIST_CHUNK)
      const raws = await this.#redis.mget(chunk.map((entity) => this.#keys.binding(entity)))
      chunk.forEach((entity, i) => {
        const raw = raws[i]
        const binding = raw === null || raw === undefined ? undefined : parseBinding(raw)
        if (binding !== undefined) out.push({ entity, binding })
      })
    }
    return out
  }

  async subscribe(listener: BindingListener, onMissed?: () => void): Promise<() => Promise<void>> {
    // A connection in subscriber mode can run no other command: use a dedicated duplicate, named so operators (and a
    // test) can find it in CLIENT LIST.
    const channel = this.#keys.bindingChanges()
    const subscriber = this.#redis.duplicate({ connectionName: `mvad-bindings:${channel}` })
    subscriber.on('message', (from: string, entity: string) => {
      if (from === channel) listener(entity)
    })
    // Its errors are the main connection's too (health checks report them); it reconnects and re-subscribes by itself.
    subscriber.on('error', () => undefined)
    // Pub/sub does not replay: a change published while this connection was down is never heard. Each `ready` after
    // the first is a reconnection, so the listener's caches are refreshed.
    let connections = 0
    subscriber.on('ready', () => {
      if (++connections > 1) onMissed?.()
    })
    await subscriber.subscribe(channel)
    return async () => {
      await subscriber.unsubscribe(channel)
      await subscriber.quit()
    }
  }
}
