/**
 * Notices a Redis that lost this service's data: restarted without persistence, flushed, restored from an older
 * backup without the marker, or replaced by a replica that never had it. Models, bindings, windows and jobs live only
 * in Redis, so without this check the service would stay ready while dead-lettering every reading as
 * `unknown_entity`. The first instance to start writes a random token (SET NX); every instance remembers the token
 * it found and compares on each health check. Cleared by restoring Redis (the marker comes back with the data) or by
 * restarting the instances once models are redeployed (they adopt the new marker).
 */
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { ServiceError } from '../errors.js'

export class StoreMarker {
  readonly #redis: Redis
  readonly #key: string
  readonly #onLost: (message: string) => void
  #token: string | undefined
  #lost = false

  /** `onLost` is told once per loss (to log it); every check after it fails until the marker is back. */
  constructor(redis: Redis, key: string, onLost: (message: string) => void = () => {}) {
    this.#redis = redis
    this.#key = key
    this.#onLost = onLost
  }

  /** True once the data was found missing (and until it comes back). */
  get lost(): boolean {
    return this.#lost
  }

  /** Claims the marker on the first call; afterwards throws a non-retriable RedisError when it changed. */
  async verify(): Promise<void> {
    if (this.#token === undefined) {
      const token = randomUUID()
      await this.#redis.set(this.#key, token, 'NX')
      this.#token = (await this.#redis.get(this.#key)) ?? token
      return
    }
    const stored = await this.#redis.get(this.#key)
    if (stored === this.#token) {
      this.#lost = false
      return
    }
    const message =
      `Redis lost this service's data: its marker ${this.#key} is ${stored === null ? 'gone' : 'another one'} ` +
      '(a restart without persistence, a flush, or another server behind REDIS_URL). Models, bindings and windows ' +
      'kept there are gone; readings of unbound entities are dead-lettered unknown_entity. Restore Redis, or ' +
      'redeploy the models and restart the service (docs/streaming.md, "Durability").'
    if (!this.#lost) this.#onLost(message)
    this.#lost = true
    throw new ServiceError('RedisError', message, { retriable: false })
  }
}
