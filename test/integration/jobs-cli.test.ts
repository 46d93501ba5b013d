import { Redis } from 'ioredis'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { watchCommand } from '../../src/cli/commands/jobs.js'
import { reportError } from '../../src/cli/exit.js'
import { keySpace } from '../../src/state/keys.js'
import { RedisJobStore } from '../../src/state/redis-job-store.js'
import { Capture } from '../support/cli-run.js'
import { uniquePrefix } from '../support/names.js'

describe('mvad jobs watch', () => {
  const redis = new Redis(inject('redisUrl'))
  afterAll(() => redis.quit())

  it("a job that ended FAILED exits 3 with the job's error, even when the service recorded its own fault", async () => {
    const prefix = uniquePrefix('watch-failed')
    const jobs = new RedisJobStore(redis, keySpace(prefix))
    const at = new Date()
    for (const [jobId, code] of [
      ['broke', 'UnexpectedError'],
      ['refused', 'ModelNotExist'],
    ] as const) {
      await jobs.create(jobId, 'delete-model', { type: 'delete-model', jobId, modelId: 'm' }, at)
      await jobs.update(jobId, { status: 'FAILED', errors: [{ code, message: `${code} happened` }] }, at)
    }
    const env = { REDIS_URL: inject('redisUrl'), MVAD_REDIS_KEY_PREFIX: prefix }
    for (const [jobId, code] of [
      ['broke', 'UnexpectedError'],
      ['refused', 'ModelNotExist'],
    ] as const) {
      const ctx = { stdout: new Capture(), stderr: new Capture(), env }
      const error = await watchCommand({ jobId, timeout: 5 }, ctx, env).then(
        () => new Error('resolved'),
        (e: unknown) => e,
      )
      const stderr = new Capture()
      expect(reportError(error, stderr)).toBe(3)
      expect(stderr.text).toBe(`error ${code}: job ${jobId} failed: ${code} happened\n`)
      expect(JSON.parse(ctx.stdout.text)).toMatchObject({ jobId, status: 'FAILED', errors: [{ code }] })
    }
  })
})
