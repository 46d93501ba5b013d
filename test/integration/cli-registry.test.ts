/**
 * `mvad model upload`, `mvad bind` and `mvad jobs show` against the real Redis: what a shell user sees (exit code,
 * stdout, stderr) when the model or job asked for does not exist. Each test has its own key prefix. Bad input that
 * needs no Redis is in test/unit/cli/registry.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { keySpace } from '../../src/state/keys.js'
import { RedisBindingStore } from '../../src/state/redis-binding-store.js'
import { RedisJobStore } from '../../src/state/redis-job-store.js'
import { RedisModelStore } from '../../src/state/redis-model-store.js'
import { mvad, mvadWith, type CliOutcome } from '../support/cli-run.js'
import { uniquePrefix } from '../support/names.js'

const F = fileURLToPath(new URL('../fixtures/cli/', import.meta.url))

/** `mvad` in-process against the test Redis, under the key prefix `prefix`. */
const mvadAt = (prefix: string, ...argv: string[]): Promise<CliOutcome> =>
  mvadWith({ REDIS_URL: inject('redisUrl'), MVAD_REDIS_KEY_PREFIX: prefix }, ...argv)

let dir = ''
let model = ''
const redis = new Redis(inject('redisUrl'))
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mvad-cli-registry-'))
  model = join(dir, 'model.json')
  const r = await mvad('train', '--input', `${F}train.csv`, '--out', model, '--sliding-window', '28')
  expect([r.code, r.stderr]).toEqual([0, expect.stringMatching(/trained on 400 rows/)])
})
afterAll(async () => {
  await redis.quit()
  await rm(dir, { recursive: true, force: true })
})

describe('mvad bind', () => {
  it('refuses a model with no READY version, or not the version asked for (ModelNotExist, exit 3), binding nothing', async () => {
    const prefix = uniquePrefix('cli-bind')
    const bindings = new RedisBindingStore(redis, keySpace(prefix))
    const none = await mvadAt(prefix, 'bind', '--entity', 'pump-1', '--model', 'ghost')
    expect([none.code, none.stdout, none.stderr]).toEqual([
      3,
      '',
      'error ModelNotExist: model "ghost" has no READY version; upload one with mvad model upload\n',
    ])
    const upload = await mvadAt(prefix, 'model', 'upload', '--model', model, '--name', 'pump-model')
    expect([upload.code, upload.stdout]).toEqual([0, 'model pump-model version 1 READY (4 variables, window 28)\n'])
    const pinned = await mvadAt(prefix, 'bind', '--entity', 'pump-1', '--model', 'pump-model', '--version', '2')
    expect([pinned.code, pinned.stdout, pinned.stderr]).toEqual([
      3,
      '',
      'error ModelNotExist: model "pump-model" has no READY version 2; upload one with mvad model upload\n',
    ])
    expect(await bindings.get('pump-1')).toBeUndefined()
    // The version that exists binds: the refusals above were about the model, not the command.
    const ok = await mvadAt(prefix, 'bind', '--entity', 'pump-1', '--model', 'pump-model', '--version', '1')
    expect([ok.code, ok.stdout, ok.stderr]).toEqual([0, 'entity pump-1 → model pump-model v1\n', ''])
    expect(await bindings.get('pump-1')).toEqual({ modelId: 'pump-model', version: 1 })
  })

  it('binds nothing while the model is being deleted (ModelInUse, exit 3), and binds once the delete let go', async () => {
    const prefix = uniquePrefix('cli-bind-deleting')
    const models = new RedisModelStore(redis, keySpace(prefix))
    const bindings = new RedisBindingStore(redis, keySpace(prefix))
    expect((await mvadAt(prefix, 'model', 'upload', '--model', model, '--name', 'pump-model')).code).toBe(0)
    const deleting = (await models.claim('pump-model', 'delete', 60_000)) ?? '' // another instance's delete
    const refused = await mvadAt(prefix, 'bind', '--entity', 'pump-1', '--model', 'pump-model')
    expect([refused.code, refused.stdout]).toEqual([3, ''])
    expect(refused.stderr).toMatch(/^error ModelInUse: model pump-model is being deleted by another request; nothing/)
    expect(await bindings.get('pump-1')).toBeUndefined()
    await models.releaseClaim('pump-model', 'delete', deleting) // that delete was refused, say
    expect((await mvadAt(prefix, 'bind', '--entity', 'pump-1', '--model', 'pump-model')).code).toBe(0)
    expect(await bindings.get('pump-1')).toEqual({ modelId: 'pump-model' })
  })
})

describe('mvad jobs show', () => {
  it('answers a job id that does not exist with JobNotFound (exit 3)', async () => {
    const prefix = uniquePrefix('cli-jobs-show')
    const r = await mvadAt(prefix, 'jobs', 'show', 'no-such-job')
    expect([r.code, r.stdout, r.stderr]).toEqual([3, '', 'error JobNotFound: job no-such-job does not exist\n'])
    // A job that exists under the same prefix is shown: the refusal above was about the id.
    const command = { type: 'delete-model', jobId: 'job-1', modelId: 'm' } as const
    await new RedisJobStore(redis, keySpace(prefix)).create('job-1', 'delete-model', command, new Date())
    const shown = await mvadAt(prefix, 'jobs', 'show', 'job-1')
    expect([shown.code, shown.stderr]).toEqual([0, ''])
    expect(JSON.parse(shown.stdout)).toMatchObject({ jobId: 'job-1', type: 'delete-model', status: 'CREATED', command })
  })
})
