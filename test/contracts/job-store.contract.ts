/** One contract for every JobStore implementation (memory and Redis). */
import { describe, expect, it } from 'vitest'
import type { JobStore, JobStoreOptions } from '../../src/state/job-store.js'

export function jobStoreContract(
  name: string,
  makeStore: (options?: JobStoreOptions) => { store: JobStore; jobId: () => string },
): void {
  describe(`JobStore contract: ${name}`, () => {
    const t = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute))

    it('creates a job once: a redelivered command finds the existing record', async () => {
      const { store, jobId } = makeStore()
      const id = jobId()
      const first = await store.create(id, 'train', { type: 'train', jobId: id }, t(0))
      expect(first.created).toBe(true)
      expect(first.record).toMatchObject({ jobId: id, type: 'train', status: 'CREATED', progress: 0, errors: [] })
      await store.update(id, { status: 'RUNNING', progress: 10 }, t(1))
      const again = await store.create(id, 'train', { type: 'train', jobId: id }, t(2))
      expect(again.created).toBe(false)
      expect(again.record).toMatchObject({ status: 'RUNNING', progress: 10 })
    })

    it('moves CREATED → RUNNING → READY and refuses anything after a final state', async () => {
      const { store, jobId } = makeStore()
      const id = jobId()
      await store.create(id, 'detect-batch', {}, t(0))
      expect((await store.update(id, { status: 'RUNNING' }, t(1))).ok).toBe(true)
      expect((await store.update(id, { progress: 50 }, t(2))).ok).toBe(true)
      const done = await store.update(id, { status: 'READY', result: { resultId: 'r1' } }, t(3))
      expect(done).toMatchObject({ ok: true, record: { status: 'READY', progress: 100, result: { resultId: 'r1' } } })
      expect(done.ok && done.record.lastUpdatedTime).toBe(t(3).toISOString())
      expect(await store.update(id, { status: 'FAILED' }, t(4))).toMatchObject({
        ok: false,
        reason: 'illegal_transition',
      })
      expect(await store.update(id, { status: 'RUNNING' }, t(4))).toMatchObject({
        ok: false,
        reason: 'illegal_transition',
      })
    })

    it('fails a job with errors, and reports unknown jobs', async () => {
      const { store, jobId } = makeStore()
      const id = jobId()
      await store.create(id, 'train', {}, t(0))
      const failed = await store.update(
        id,
        { status: 'FAILED', errors: [{ code: 'Cancelled', message: 'by user' }] },
        t(1),
      )
      expect(failed).toMatchObject({ ok: true, record: { status: 'FAILED', errors: [{ code: 'Cancelled' }] } })
      expect(await store.update(jobId(), { status: 'RUNNING' }, t(1))).toEqual({ ok: false, reason: 'not_found' })
      expect(await store.get(jobId())).toBeUndefined()
    })

    it('records leases and cancel requests, and applies an update only when its guard holds', async () => {
      const { store, jobId } = makeStore()
      const id = jobId()
      await store.create(id, 'train', {}, t(0))
      const claimed = await store.update(id, { status: 'RUNNING', lease: { owner: 'a', until: t(5) } }, t(1))
      expect(claimed).toMatchObject({ ok: true, record: { owner: 'a', leaseUntil: t(5).toISOString() } })
      const expired = (r: { leaseUntil?: string }): boolean => (r.leaseUntil ?? '') < t(2).toISOString()
      expect(await store.update(id, { status: 'FAILED' }, t(2), expired)).toMatchObject({
        ok: false,
        reason: 'guard_failed',
        record: { status: 'RUNNING', owner: 'a' },
      })
      expect((await store.update(id, { cancelRequested: true }, t(3))).ok).toBe(true)
      expect(await store.get(id)).toMatchObject({ cancelRequested: true, status: 'RUNNING' })
      expect((await store.update(id, { status: 'FAILED' }, t(7), () => true)).ok).toBe(true)
      // A finished job keeps who ran it; its lease meant something only while it ran.
      const finished = await store.get(id)
      expect(finished).toMatchObject({ status: 'FAILED', owner: 'a' })
      expect(finished).not.toHaveProperty('leaseUntil')
    })

    it('lists newest first, filtered by status', async () => {
      const { store, jobId } = makeStore()
      const [a, b, c] = [jobId(), jobId(), jobId()]
      await store.create(a, 'train', {}, t(0))
      await store.create(b, 'train', {}, t(1))
      await store.create(c, 'train', {}, t(2))
      await store.update(b, { status: 'RUNNING' }, t(3))
      const all = (await store.list()).map((j) => j.jobId)
      expect(all.indexOf(c)).toBeLessThan(all.indexOf(b))
      expect(all.indexOf(b)).toBeLessThan(all.indexOf(a))
      expect((await store.list({ status: 'RUNNING' })).map((j) => j.jobId)).toContain(b)
      expect((await store.list({ status: 'RUNNING' })).map((j) => j.jobId)).not.toContain(a)
    })
    it('forgets a finished job after the retention and keeps an unfinished one', async () => {
      const { store, jobId } = makeStore({ finishedTtlSeconds: 2 })
      const [done, open] = [jobId(), jobId()]
      await store.create(done, 'train', {}, t(0))
      await store.create(open, 'train', {}, t(0))
      await store.update(done, { status: 'FAILED', errors: [{ code: 'JobCanceled', message: 'by user' }] }, t(1))
      await store.update(open, { status: 'RUNNING' }, t(1))
      expect(await store.get(done)).toMatchObject({ status: 'FAILED' })
      // Marking its final status sent after a while does not restart the retention.
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      expect((await store.update(done, { finalStatusSent: true }, t(2))).ok).toBe(true)
      await new Promise((resolve) => setTimeout(resolve, 1_200))
      expect(await store.forgetExpired(new Date())).toBeGreaterThanOrEqual(1)
      expect(await store.get(done)).toBeUndefined()
      expect((await store.list({ limit: 1000 })).map((j) => j.jobId)).not.toContain(done)
      expect(await store.get(open)).toMatchObject({ status: 'RUNNING' })
      expect((await store.list({ status: 'RUNNING', limit: 1000 })).map((j) => j.jobId)).toContain(open)
      // A forgotten id is free again (a command redelivered after the retention would run again; documented).
      expect((await store.create(done, 'train', {}, t(2))).created).toBe(true)
    })

    it('lists unfinished jobs however many finished jobs are newer', async () => {
      const { store, jobId } = makeStore()
      const waiting = jobId()
      await store.create(waiting, 'train', {}, t(0))
      const finished = Array.from({ length: 150 }, () => jobId())
      for (const [i, id] of finished.entries()) {
        await store.create(id, 'delete-model', {}, t(1 + i))
        await store.update(id, { status: 'FAILED' }, t(1 + i))
      }
      const created = await store.list({ status: 'CREATED', limit: 1000 })
      expect(created.map((j) => j.jobId)).toContain(waiting)
      expect(created.every((j) => j.status === 'CREATED')).toBe(true)
      const failed = (await store.list({ status: 'FAILED', limit: 1000 })).map((j) => j.jobId)
      expect(finished.every((id) => failed.includes(id))).toBe(true)
      expect(await store.list({ status: 'FAILED', limit: 5 })).toHaveLength(5)
    })

    it("marks a finished job's final status unsent until told it was sent, without changing the job", async () => {
      const { store, jobId } = makeStore()
      const [first, second, open] = [jobId(), jobId(), jobId()]
      for (const id of [first, second, open]) await store.create(id, 'train', {}, t(id === first ? 0 : 1))
      await store.update(open, { status: 'RUNNING' }, t(2))
      const done = await store.update(first, { status: 'FAILED', errors: [{ code: 'X', message: 'y' }] }, t(3))
      expect(done).toMatchObject({ ok: true, record: { status: 'FAILED', finalStatusUnsent: true } })
      await store.update(second, { status: 'RUNNING' }, t(3))
      await store.update(second, { status: 'READY', result: { r: 1 } }, t(4))
      const unsent = (await store.listUnsentFinal(1000)).map((r) => r.jobId)
      expect(unsent.filter((id) => [first, second, open].includes(id))).toEqual([first, second]) // oldest first
      expect((await store.list({ status: 'RUNNING', limit: 1000 })).map((r) => r.jobId)).not.toContain(second)
      const taken = await store.update(second, { finalStatusResend: t(9) }, t(9))
      expect(taken).toMatchObject({
        ok: true,
        record: { finalStatusUnsent: true, finalStatusResendAt: t(9).toISOString(), finalStatusAttempts: 1 },
      })
      const again = await store.update(second, { finalStatusResend: t(10) }, t(10))
      expect(again.ok && again.record.finalStatusAttempts).toBe(2)
      // An unfinished job has no final status to deliver.
      for (const update of [{ finalStatusSent: true as const }, { finalStatusResend: t(10) }])
        expect(await store.update(open, update, t(10))).toMatchObject({ ok: false, reason: 'illegal_transition' })
      const sent = await store.update(second, { finalStatusSent: true }, t(10))
      expect(sent.ok && sent.record).toMatchObject({
        status: 'READY',
        result: { r: 1 },
        lastUpdatedTime: t(4).toISOString(),
      })
      expect(sent.ok && sent.record).not.toHaveProperty('finalStatusUnsent')
      expect(sent.ok && sent.record).not.toHaveProperty('finalStatusResendAt')
      expect(sent.ok && sent.record).not.toHaveProperty('finalStatusAttempts')
      expect(await store.get(second)).toEqual(sent.ok ? sent.record : undefined)
      expect((await store.listUnsentFinal(1000)).map((r) => r.jobId)).not.toContain(second)
      // Once sent, a finished job takes no update at all; before, only delivery ones.
      for (const update of [{ finalStatusSent: true as const }, { progress: 5 }, { finalStatusResend: t(11) }])
        expect(await store.update(second, update, t(11))).toMatchObject({ ok: false, reason: 'illegal_transition' })
      expect(await store.update(first, { progress: 5 }, t(11))).toMatchObject({
        ok: false,
        reason: 'illegal_transition',
      })
      expect((await store.listUnsentFinal(1000)).map((r) => r.jobId)).toContain(first)
    })
  })
}
