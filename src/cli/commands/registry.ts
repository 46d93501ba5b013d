/**
 * `mvad model upload|list` and `mvad bind`: put a model trained offline into the service's model store (Redis) and
 * choose which model scores which entity. Redis and the key prefix come from the same variables as the service
 * (REDIS_URL, MVAD_REDIS_KEY_PREFIX; see docs/config.md), so the CLI and the service always agree.
 */
import { Redis } from 'ioredis'
import { loadConfig, type RawEnv } from '../../config/config.js'
import { ServiceError } from '../../errors.js'
import { clientOptions } from '../../connections.js'
import { redactedUrl } from '../../domain/redact.js'
import { keySpace } from '../../state/keys.js'
import { bindToModels } from '../../state/model-deletion.js'
import { RedisBindingStore } from '../../state/redis-binding-store.js'
import { RedisModelStore } from '../../state/redis-model-store.js'
import { RedisJobStore } from '../../state/redis-job-store.js'
import { loadCoreModel } from '../../stream/core-model-loader.js'
import { parseJsonText, readText } from '../io.js'
import { modelFileProvenance } from '../model-file.js'
import { UsageError } from '../exit.js'
import type { CliContext } from './context.js'

export async function withStores<T>(
  env: RawEnv,
  action: (stores: { models: RedisModelStore; bindings: RedisBindingStore; jobs: RedisJobStore }) => Promise<T>,
): Promise<T> {
  const config = loadConfig(env)
  const clients = clientOptions(config)
  const redis = new Redis(clients.redis.url, {
    ...clients.redis.options,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  })
  // connect() rejects with "Connection is closed."; the reason (ECONNREFUSED, ENOTFOUND, …) comes as an 'error' event.
  let reason: Error | undefined
  redis.on('error', (error: Error) => {
    reason ??= error
  })
  try {
    await redis.connect()
  } catch (error) {
    // An AggregateError (every address of a name refused) may have no message: then connect()'s own.
    const cause = reason !== undefined && reason.message !== '' ? reason : (error as Error)
    throw new ServiceError(
      'InfrastructureUnavailable',
      `cannot reach Redis at ${redactedUrl(config.redis.url)} (set REDIS_URL; start local servers with npm run infra:up): ${cause.message}`,
      { cause },
    )
  }
  try {
    const keys = keySpace(config.redis.keyPrefix)
    return await action({
      models: new RedisModelStore(redis, keys),
      bindings: new RedisBindingStore(redis, keys),
      jobs: new RedisJobStore(redis, keys),
    })
  } finally {
    await redis.quit().catch(() => undefined)
  }
}

export interface ModelUploadOptions {
  model: string
  name: string
  displayName?: string
}

export async function modelUploadCommand(opts: ModelUploadOptions, ctx: CliContext, env: RawEnv): Promise<void> {
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(opts.name)) {
    throw new UsageError(`--name "${opts.name}" must be 1–128 letters, digits, . _ -`)
  }
  // Read and checked as `mvad detect` reads a model: every refusal names the file.
  const text = await readText(opts.model, 'model file')
  const json = parseJsonText(text, opts.model, 'model file')
  let loaded
  try {
    loaded = loadCoreModel(text, { modelId: opts.name, version: 0 })
  } catch (error) {
    if (error instanceof ServiceError)
      throw new ServiceError(error.code, `${opts.model}: ${error.message}`, { cause: error })
    throw new ServiceError('InvalidModelState', `${opts.model}: not a model file: ${(error as Error).message}`, {
      cause: error,
    })
  }
  const provenance = modelFileProvenance(json)
  const info = await withStores(env, ({ models }) =>
    models.registerReady(opts.name, text, {
      variables: [...loaded.variables],
      slidingWindow: loaded.slidingWindow,
      ...(opts.displayName === undefined ? {} : { displayName: opts.displayName }),
      ...provenance,
    }),
  )
  ctx.stdout.write(
    `model ${info.modelId} version ${info.version} ${info.status} (${info.variables.length} variables, window ${info.slidingWindow})\n`,
  )
}

export async function modelListCommand(ctx: CliContext, env: RawEnv): Promise<void> {
  await withStores(env, async ({ models }) => {
    for (const id of await models.listModelIds()) {
      for (const v of await models.listVersions(id)) {
        ctx.stdout.write(
          `${v.modelId}\tv${v.version}\t${v.status}\t${v.variables.length} variables\twindow ${v.slidingWindow}\t${v.createdTime}\n`,
        )
      }
    }
  })
}

export interface BindOptions {
  entity: string
  model: string
  version?: number
}

export async function bindCommand(opts: BindOptions, ctx: CliContext, env: RawEnv): Promise<void> {
  await withStores(env, async ({ models, bindings }) => {
    const ready = await models.getReadyState(opts.model, opts.version)
    if (ready === undefined) {
      const what = opts.version === undefined ? 'no READY version' : `no READY version ${opts.version}`
      throw new ServiceError('ModelNotExist', `model "${opts.model}" has ${what}; upload one with mvad model upload`)
    }
    const binding =
      opts.version === undefined ? { modelId: opts.model } : { modelId: opts.model, version: opts.version }
    // Not written if the model is being deleted meanwhile (state/model-deletion.ts), as for a deploy job.
    await bindToModels(models, bindings, [{ entity: opts.entity, binding }])
    const version = opts.version === undefined ? `latest READY (now v${ready.info.version})` : `v${opts.version}`
    ctx.stdout.write(`entity ${opts.entity} → model ${opts.model} ${version}\n`)
  })
}
