import { describe, expect, it, vi } from 'vitest'
import type { ControlCommand } from '../../../src/control/commands.js'
import { cancelHandler } from '../../../src/control/handlers/lifecycle.js'
import { JobRunner, type JobHandler } from '../../../src/control/job-runner.js'
import { MemoryJobStore, type JobRecord, type JobStore } from '../../../src/state/job-store.js'

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined }
/** A job that waits for a slot (as a train or a detect-batch does). */
const slotCmd = (jobId: string): ControlCommand => ({
  type: 'train',
  jobId,
  modelId: 'm',
  source: { kind: 'file', path: '/data/train.csv' },
})

function setup(
  handler: JobHandler,
  options: {
    leaseMs?: number
    instanceId?: string
    concurrency?: number
    now?: () => Date
    jobs?: JobStore
    deploy?: JobHandler
    /** Called before a status is recorded as published; a throw makes the send fail. */
    send?: (record: JobRecord, resend: boolean) => Promise<void>
  } = {},
) {
  const jobs = options.jobs ?? new MemoryJobStore()
  const published: (JobRecord & { resent?: true })[] = []
  const never: JobHandler = { run: () => Promise.reject(new Error('not used')) }
  const runner: JobRunner = new JobRunner({
    jobs,
    status: {
      publish: async (r, resend) => {
        await options.send?.(r, resend === true)
        published.push(resend === true ? { ...r, resent: true } : r)
      },
    },
    logger: silent,
    instanceId: options.instanceId ?? 'me',
    leaseMs: options.leaseMs ?? 60_000,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.now === undefined ? {} : { now: options.now }),
    handlers: {
      train: handler,
      'detect-batch': never,
      deploy: options.deploy ?? never,
      cancel: cancelHandler(() => runner),
      'delete-model': never,
    },
  })
  return { jobs, runner, published }
}

/** The same handler for every job type. */
const forEveryType = (handler: JobHandler) => ({
  train: handler,
  'detect-batch': handler,
  deploy: handler,
  cancel: handler,
  'delete-model': handler,
})

/** A store that delegates to `inner`, except for the methods given (faults and races are made by wrapping them). */
function storeWith(inner: JobStore, overrides: Partial<JobStore>): JobStore {
  return {
    create: (...args) => inner.create(...args),
    get: (id) => inner.get(id),
    list: (o) => inner.list(o),
    listUnsentFinal: (limit) => inner.listUnsentFinal(limit),
    forgetExpired: (...args) => inner.forgetExpired(...args),
    update: (...args) => inner.update(...args),
    ...overrides,
  }
}

/** A handler whose runs wait until released (one release per run, in order). */
function gatedHandler(): { handler: JobHandler; release: () => void; started: string[] } {
  const gates: (() => void)[] = []
  const started: string[] = []
  const handler: JobHandler = {
    run: (command, ctx) =>
      new Promise((resolve, reject) => {
        started.push(command.jobId)
        gates.push(() => resolve({}))
        ctx.signal.addEventListener('abort', () => reject(new Error('stopped')))
      }),
  }
  return { handler, started, release: () => gates.shift()?.() }
}

describe('JobRunner', () => {
  it('runs a job once: CREATED → RUNNING → READY with its result, a redelivered command is a duplicate', async () => {
    const run = vi.fn(() => Promise.resolve({ deleted: true }))
    const { jobs, runner, published } = setup({ run })
    expect(await runner.submit(slotCmd('j1'))).toBe('accepted')
    await runner.idle()
    expect(await runner.submit(slotCmd('j1'))).toBe('duplicate')
    await runner.idle()
    expect(run).toHaveBeenCalledTimes(1)
    expect(await jobs.get('j1')).toMatchObject({
      status: 'READY',
      progress: 100,
      result: { deleted: true },
      owner: 'me',
    })
    // Its final status reached the topic: the record says so, and no sweep sends it again.
    expect(await jobs.get('j1')).not.toHaveProperty('finalStatusUnsent')
    expect(await jobs.listUnsentFinal(10)).toEqual([])
    expect(published.map((r) => r.status)).toEqual(['CREATED', 'RUNNING', 'READY'])
    // The same jobId with another command is a conflict (reported by the caller), not a duplicate; key order aside.
    const reordered = Object.fromEntries(Object.entries(slotCmd('j1')).reverse()) as ReturnType<typeof slotCmd>
    expect(await runner.submit(reordered)).toBe('duplicate')
    expect(await runner.submit({ type: 'delete-model', jobId: 'j1', modelId: 'another' })).toBe('conflict')
    expect(await runner.submit({ type: 'cancel', jobId: 'j1', targetJobId: 'x' })).toBe('conflict')
    await runner.idle()
    expect(run).toHaveBeenCalledTimes(1)
  })

  it('fails a job with the handler error code and message', async () => {
    const { ServiceError } = await import('../../../src/errors.js')
    const { jobs, runner } = setup({ run: () => Promise.reject(new ServiceError('ModelInUse', 'deployed to a')) })
    await runner.submit(slotCmd('j2'))
    await runner.idle()
    expect(await jobs.get('j2')).toMatchObject({
      status: 'FAILED',
      errors: [{ code: 'ModelInUse', message: 'deployed to a' }],
    })
  })

  it('cancels a running job through its abort signal', async () => {
    let seen: AbortSignal | undefined
    const { jobs, runner } = setup({
      run: (_c, ctx) => {
        seen = ctx.signal
        return new Promise((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => reject(new Error('stopped'))),
        )
      },
    })
    await runner.submit(slotCmd('j3'))
    await vi.waitFor(() => expect(seen).toBeDefined())
    const after = await runner.cancel('j3')
    expect(after.cancelRequested).toBe(true)
    await runner.idle()
    expect(await jobs.get('j3')).toMatchObject({ status: 'FAILED', errors: [{ code: 'JobCanceled' }] })
  })

  it('a handler that returned before it saw a cancel ends READY: its work is committed, the cancel came too late', async () => {
    const { handler, started, release } = gatedHandler()
    const quiet: JobHandler = {
      run: (command, ctx) => handler.run(command, { ...ctx, signal: new AbortController().signal }),
    }
    const { jobs, runner } = setup(quiet)
    await runner.submit(slotCmd('late'))
    await vi.waitFor(() => expect(started).toEqual(['late']))
    await runner.cancel('late') // lands while the handler writes its last step and no longer checks the signal
    release()
    await runner.idle()
    expect(await jobs.get('late')).toMatchObject({ status: 'READY', cancelRequested: true })
  })

  it("failureOf records the abort's reason: JobCanceled for a cancel, JobInterrupted when the service stops", async () => {
    const recorded: string[] = []
    const started: string[] = []
    const abortable: JobHandler = {
      run: (c, ctx) =>
        new Promise(
          (_resolve, reject) =>
            started.push(c.jobId) &&
            ctx.signal.addEventListener('abort', () => {
              const failure = ctx.failureOf(new Error('the worker thread was terminated'))
              recorded.push(failure.code)
              reject(failure)
            }),
        ),
    }
    const { jobs, runner } = setup(abortable)
    await runner.submit(slotCmd('c1'))
    await vi.waitFor(() => expect(started).toEqual(['c1']))
    await runner.cancel('c1')
    await runner.idle()
    await runner.submit(slotCmd('c2'))
    await vi.waitFor(() => expect(started).toEqual(['c1', 'c2']))
    await runner.stop()
    expect(recorded).toEqual(['JobCanceled', 'JobInterrupted'])
    expect(await jobs.get('c2')).toMatchObject({ status: 'FAILED', errors: [{ code: 'JobInterrupted' }] })
  })

  it('a cancel acts at once, even when every slot is taken by the jobs it may cancel', async () => {
    const { handler, started } = gatedHandler()
    const { jobs, runner } = setup(handler, { concurrency: 1 })
    await runner.submit(slotCmd('busy'))
    await vi.waitFor(() => expect(started).toEqual(['busy']))
    await runner.submit({ type: 'cancel', jobId: 'stop-busy', targetJobId: 'busy' })
    await runner.idle()
    expect(await jobs.get('busy')).toMatchObject({ status: 'FAILED', errors: [{ code: 'JobCanceled' }] })
    expect(await jobs.get('stop-busy')).toMatchObject({ status: 'READY', result: { cancelRequested: true } })
  })

  it('a progress write that fails is logged, not an unhandled rejection, and the job still finishes', async () => {
    const inner = new MemoryJobStore()
    const flaky = storeWith(inner, {
      update: (id, update, now, guard) =>
        update.progress !== undefined && update.status === undefined
          ? Promise.reject(new Error('Redis: max retries per request'))
          : inner.update(id, update, now, guard),
    })
    const { runner } = setup(
      {
        run: async (_c, ctx) => {
          void ctx.progress(0.5) // fire-and-forget, as the handlers report it
          await new Promise((resolve) => setTimeout(resolve, 20))
          return {}
        },
      },
      { jobs: flaky },
    )
    await runner.submit(slotCmd('p1'))
    await runner.idle()
    expect(await inner.get('p1')).toMatchObject({ status: 'READY' })
  })

  it('sweep leaves the queued jobs of this instance alone: each runs once, and the running set stays true', async () => {
    let now = Date.UTC(2024, 0, 1)
    const { handler, release, started } = gatedHandler()
    const { jobs, runner } = setup(handler, { concurrency: 2, leaseMs: 1_000, now: () => new Date(now) })
    for (const id of ['a', 'b', 'c']) await runner.submit(slotCmd(id))
    await vi.waitFor(() => expect(started).toEqual(['a', 'b']))
    now += 5_000 // c's lease (not renewed while it waits in the queue) has expired
    await runner.sweep()
    release() // a ends: c starts
    await vi.waitFor(() => expect(started).toEqual(['a', 'b', 'c']))
    release() // b ends: a second copy of c, had the sweep queued one, would start, fail its claim and drop c's entry
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(runner.runningJobIds).toEqual(['c'])
    release()
    await runner.idle()
    expect(started).toEqual(['a', 'b', 'c'])
    expect((await jobs.get('c'))?.status).toBe('READY')
  })

  it('keeps the leases of its queued jobs, so another instance does not take a job that only waits its turn', async () => {
    // Fake timers: the renewals (every 50 ms) run exactly as the clock moves, however loaded the machine is.
    vi.useFakeTimers()
    const jobs = new MemoryJobStore()
    const { handler, release, started } = gatedHandler()
    const a = setup(handler, { jobs, instanceId: 'a', concurrency: 1, leaseMs: 150 }).runner
    const b = setup({ run: () => Promise.resolve({ ran: 'b' }) }, { jobs, instanceId: 'b', leaseMs: 150 }).runner
    a.start()
    try {
      await a.submit(slotCmd('busy'))
      await a.submit(slotCmd('waiting'))
      await vi.advanceTimersByTimeAsync(10)
      expect(started).toEqual(['busy'])
      await vi.advanceTimersByTimeAsync(500) // over three leases
      await b.sweep()
      expect(await jobs.get('waiting')).toMatchObject({ status: 'CREATED', owner: 'a' })
      expect(await jobs.get('busy')).toMatchObject({ status: 'RUNNING', owner: 'a' })
      release()
      await vi.advanceTimersByTimeAsync(10)
      expect(started).toEqual(['busy', 'waiting'])
      release()
      await vi.advanceTimersByTimeAsync(10)
      await a.idle()
      expect(await jobs.get('waiting')).toMatchObject({ status: 'READY', owner: 'a' })
    } finally {
      vi.useRealTimers()
      await a.stop()
      await b.stop()
    }
  })

  it('a cancel that lands while RUNNING is being published stops the job before its handler starts', async () => {
    const run = vi.fn(() => Promise.resolve({}))
    const jobs = new MemoryJobStore()
    const published: string[] = []
    const runner: JobRunner = new JobRunner({
      jobs,
      // The RUNNING send is where the cancel comes in (a slow broker gives it all the time it needs).
      status: {
        publish: async (r) => {
          published.push(r.status)
          if (r.status === 'RUNNING') await runner.cancel(r.jobId)
        },
      },
      logger: silent,
      instanceId: 'me',
      leaseMs: 60_000,
      handlers: forEveryType({ run }),
    })
    await runner.submit(slotCmd('early'))
    await runner.idle()
    expect(run).not.toHaveBeenCalled()
    expect(await jobs.get('early')).toMatchObject({ status: 'FAILED', errors: [{ code: 'JobCanceled' }] })
  })

  it('a status send that hangs (Kafka retrying) lets no lease lapse, and the next status goes after it', async () => {
    const jobs = new MemoryJobStore()
    const hang = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
    const run = vi.fn(async () => {
      await hang(200)
      return {}
    })
    const arrived: string[] = []
    const slow = new JobRunner({
      jobs,
      // CREATED and RUNNING hang for four leases; READY would be sent at once, beside them, if nothing ordered it.
      status: {
        publish: async (r) => {
          if (r.status !== 'READY') await hang(4_000)
          arrived.push(r.status)
        },
      },
      logger: silent,
      instanceId: 'slow',
      leaseMs: 1_000,
      handlers: forEveryType({ run }),
    })
    const other = setup({ run: () => Promise.resolve({ ran: 'other' }) }, { jobs, instanceId: 'other', leaseMs: 1_000 })
    slow.start()
    try {
      const submitted = slow.submit(slotCmd('slow-send'))
      for (let i = 0; i < 10; i++) {
        await hang(500)
        await other.runner.sweep()
      }
      await submitted
      await slow.idle()
      expect(run).toHaveBeenCalledTimes(1)
      expect(await jobs.get('slow-send')).toMatchObject({ status: 'READY', owner: 'slow' })
      await vi.waitFor(() => expect(arrived).toEqual(['CREATED', 'RUNNING', 'READY']), { timeout: 10_000 })
    } finally {
      await slow.stop()
      await other.runner.stop()
    }
  }, 20_000)

  it('deploy and delete-model wait for each other in their lane, in order, not for the slots', async () => {
    const gated = gatedHandler()
    const { jobs, runner } = setup({ run: () => Promise.resolve({}) }, { concurrency: 1, deploy: gated.handler })
    await runner.submit({ type: 'deploy', jobId: 'first', modelId: 'm', entities: ['pump-1'] })
    await runner.submit({ type: 'deploy', jobId: 'second', modelId: 'n', entities: ['pump-1'] })
    await vi.waitFor(() => expect(gated.started).toEqual(['first']))
    await runner.submit(slotCmd('training')) // the slot is free: it does not wait for the lane
    await vi.waitFor(async () => expect(await jobs.get('training')).toMatchObject({ status: 'READY' }))
    expect(gated.started).toEqual(['first'])
    gated.release()
    await vi.waitFor(() => expect(gated.started).toEqual(['first', 'second']))
    gated.release()
    await runner.idle()
    expect((await jobs.get('second'))?.status).toBe('READY')
  })

  it("a job another instance's sweep claimed before its lease was set runs there only, not twice", async () => {
    const inner = new MemoryJobStore()
    const peer: { other?: JobRunner } = {}
    const racing = storeWith(inner, {
      // Another instance sweeps between the record's creation and its lease: it finds a CREATED job with no lease.
      create: async (...args) => {
        const created = await inner.create(...args)
        await peer.other?.sweep()
        return created
      },
    })
    const ranOn: string[] = []
    const handler = (name: string): JobHandler => ({ run: () => Promise.resolve(void ranOn.push(name)) })
    const here = setup(handler('here'), { jobs: racing, instanceId: 'here' }).runner
    const other = setup(handler('other'), { jobs: inner, instanceId: 'other' }).runner
    peer.other = other
    expect(await here.submit(slotCmd('raced'))).toBe('accepted')
    await here.idle()
    await other.idle()
    expect(ranOn).toEqual(['other'])
    expect(await inner.get('raced')).toMatchObject({ status: 'READY', owner: 'other' })
  })

  it('deploy and delete-model start at once: a rollback does not wait behind long jobs in the slots', async () => {
    const { handler, release, started } = gatedHandler()
    const deploy = vi.fn(() => Promise.resolve({ deployed: true }))
    const { jobs, runner } = setup(handler, { concurrency: 1, deploy: { run: deploy } })
    await runner.submit(slotCmd('long-1'))
    await runner.submit(slotCmd('long-2'))
    await vi.waitFor(() => expect(started).toEqual(['long-1']))
    await runner.submit({ type: 'deploy', jobId: 'rollback', modelId: 'm', entities: ['pump-1'] })
    await vi.waitFor(async () => expect(await jobs.get('rollback')).toMatchObject({ status: 'READY' }))
    expect(started).toEqual(['long-1'])
    release()
    await vi.waitFor(() => expect(started).toEqual(['long-1', 'long-2']))
    release()
    await runner.idle()
  })

  it('a job whose work is done ends READY even when the first READY write fails (Redis away for a moment)', async () => {
    const inner = new MemoryJobStore()
    let failReady = 1
    const flaky = storeWith(inner, {
      update: (id, update, now, guard) => {
        if (update.status === 'READY' && failReady-- > 0) return Promise.reject(new Error('Redis: connection lost'))
        return inner.update(id, update, now, guard)
      },
    })
    const { runner } = setup({ run: () => Promise.resolve({ version: 3 }) }, { jobs: flaky })
    await runner.submit(slotCmd('saved'))
    await runner.idle()
    expect(await inner.get('saved')).toMatchObject({ status: 'READY', result: { version: 3 } })
  })

  it('cancel of an unknown job says so; of a finished job changes nothing', async () => {
    const { runner } = setup({ run: () => Promise.resolve({}) })
    await expect(runner.cancel('nope')).rejects.toMatchObject({ code: 'JobNotFound' })
    await runner.submit(slotCmd('j4'))
    await runner.idle()
    expect((await runner.cancel('j4')).status).toBe('READY')
  })

  it('sweep: a RUNNING job whose lease expired becomes FAILED (JobInterrupted) and its handler cleans up', async () => {
    const interrupted = vi.fn(() => Promise.resolve())
    const { jobs, runner } = setup({ run: () => Promise.resolve({}), interrupted })
    const past = new Date(Date.now() - 60_000)
    await jobs.create('dead', 'train', slotCmd('dead'), past)
    await jobs.update(
      'dead',
      { status: 'RUNNING', lease: { owner: 'other', until: new Date(Date.now() - 1_000) } },
      past,
    )
    await jobs.create('alive', 'train', slotCmd('alive'), past)
    await jobs.update(
      'alive',
      { status: 'RUNNING', lease: { owner: 'other', until: new Date(Date.now() + 60_000) } },
      past,
    )
    await runner.sweep()
    expect(await jobs.get('dead')).toMatchObject({ status: 'FAILED', errors: [{ code: 'JobInterrupted' }] })
    expect((await jobs.get('alive'))?.status).toBe('RUNNING')
    expect(interrupted).toHaveBeenCalledTimes(1)
  })

  it('sweep: a CREATED job left by a dead instance is run here', async () => {
    const run = vi.fn(() => Promise.resolve({ ok: 1 }))
    const { jobs, runner } = setup({ run })
    const past = new Date(Date.now() - 60_000)
    await jobs.create('orphan', 'train', slotCmd('orphan'), past)
    await jobs.update('orphan', { lease: { owner: 'other', until: new Date(Date.now() - 1_000) } }, past)
    await runner.sweep()
    await runner.idle()
    expect(run).toHaveBeenCalledTimes(1)
    expect(await jobs.get('orphan')).toMatchObject({ status: 'READY', owner: 'me' })
  })

  it('stop fails running jobs as interrupted instead of leaving them RUNNING', async () => {
    const { jobs, runner } = setup({
      run: (_c, ctx) => new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('x')))),
    })
    await runner.submit(slotCmd('j5'))
    await vi.waitFor(async () => expect((await jobs.get('j5'))?.status).toBe('RUNNING'))
    await runner.stop()
    expect(await jobs.get('j5')).toMatchObject({ status: 'FAILED', errors: [{ code: 'JobInterrupted' }] })
  })

  it('a final status whose send failed is sent again by a sweep two leases later, once', async () => {
    let at = Date.parse('2026-12-02T10:00:00Z')
    let failReady = true
    const { jobs, runner, published } = setup(
      { run: () => Promise.resolve({ done: 1 }) },
      {
        now: () => new Date(at),
        send: (r) => {
          if (r.status === 'READY' && failReady) return Promise.reject(new Error('broker away'))
          return Promise.resolve()
        },
      },
    )
    await runner.submit(slotCmd('lost-ready'))
    await runner.idle()
    expect(published.map((r) => r.status)).toEqual(['CREATED', 'RUNNING'])
    expect(await jobs.get('lost-ready')).toMatchObject({ status: 'READY', finalStatusUnsent: true })
    failReady = false
    at += 60_000 // one lease: the first send may still be retrying
    await runner.sweep()
    expect(published).toHaveLength(2)
    at += 61_000
    await runner.sweep()
    await vi.waitFor(async () => expect(await jobs.get('lost-ready')).not.toHaveProperty('finalStatusUnsent'))
    expect(published.map((r) => [r.status, r.resent])).toEqual([
      ['CREATED', undefined],
      ['RUNNING', undefined],
      ['READY', true],
    ])
    // The status sent again is the job's as it finished (its time too); control-service strips the delivery marks.
    expect(published[2]).toMatchObject({ jobId: 'lost-ready', result: { done: 1 }, progress: 100 })
    expect(published[2]?.lastUpdatedTime).toBe(new Date(at - 121_000).toISOString())
    at += 600_000
    await runner.sweep()
    expect(published).toHaveLength(3)
  })

  it('a job finished by an instance that died before its send: one of two sweeping instances sends it', async () => {
    const jobs = new MemoryJobStore()
    const past = new Date(Date.now() - 10 * 60_000)
    await jobs.create('orphaned-end', 'train', slotCmd('orphaned-end'), past)
    await jobs.update('orphaned-end', { status: 'RUNNING', lease: { owner: 'dead', until: past } }, past)
    await jobs.update('orphaned-end', { status: 'FAILED', errors: [{ code: 'X', message: 'y' }] }, past)
    const never = { run: () => Promise.reject(new Error('not run')) }
    const a = setup(never, { jobs, instanceId: 'a' })
    const b = setup(never, { jobs, instanceId: 'b' })
    await Promise.all([a.runner.sweep(), b.runner.sweep()])
    await vi.waitFor(async () => expect(await jobs.get('orphaned-end')).not.toHaveProperty('finalStatusUnsent'))
    const sent = [...a.published, ...b.published]
    expect(sent.map((r) => [r.jobId, r.status, r.resent])).toEqual([['orphaned-end', 'FAILED', true]])
    await Promise.all([a.runner.sweep(), b.runner.sweep()])
    expect(a.published.length + b.published.length).toBe(1)
  })

  it('a final status the topic keeps refusing is tried less and less often, and a hanging try holds up no sweep', async () => {
    let at = Date.parse('2026-12-02T10:00:00Z')
    const tries: number[] = []
    let hang = false
    const { jobs, runner } = setup(
      { run: () => Promise.resolve({}) },
      {
        leaseMs: 3_000, // grace 6 s, then 12 s, 24 s … after each try
        now: () => new Date(at),
        send: (r, resend) => {
          if (r.status !== 'READY') return Promise.resolve()
          tries.push(resend ? at : -at)
          return hang ? new Promise<void>(() => undefined) : Promise.reject(new Error('topic refuses'))
        },
      },
    )
    const start = at
    await runner.submit(slotCmd('refused'))
    await runner.idle()
    const sweepAt = async (secondsAfterStart: number): Promise<void> => {
      at = start + secondsAfterStart * 1000
      await runner.sweep()
      await new Promise((resolve) => setTimeout(resolve, 20)) // the send goes on behind the sweep
    }
    for (const seconds of [5, 7, 12, 20, 31, 44, 60]) await sweepAt(seconds)
    // First send at 0 (failed); tries more than 6 s later (at 7), 12 s after that (at 20, not 12), 24 s after that
    // (at 60, not 31 or 44).
    expect(tries.map((t) => (Math.abs(t) - start) / 1000)).toEqual([0, 7, 20, 60])
    expect(tries.slice(1).every((t) => t > 0)).toBe(true) // sent as resends
    expect(await jobs.get('refused')).toMatchObject({ finalStatusUnsent: true, finalStatusAttempts: 3 })
    hang = true
    await sweepAt(110) // 48 s later: a try that never ends, and the sweep returns all the same
    await sweepAt(10_000) // no second try of it starts while it hangs
    expect(tries.map((t) => (Math.abs(t) - start) / 1000)).toEqual([0, 7, 20, 60, 110])
  })
})
