/** One contract for every ModelStore implementation (memory and Redis). */
import { describe, expect, it } from 'vitest'
import type { ModelStore } from '../../src/state/model-store.js'
import { deleteUnderClaim } from '../support/delete-under-claim.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export function modelStoreContract(name: string, makeStore: () => { store: ModelStore; modelId: () => string }): void {
  describe(`ModelStore contract: ${name}`, () => {
    const meta = { variables: ['a', 'b'], slidingWindow: 28, displayName: 'demo' }

    it('numbers versions per model and returns the latest READY state', async () => {
      const { store, modelId } = makeStore()
      const id = modelId()
      const v1 = await store.registerReady(id, '{"v":1}', meta)
      const v2 = await store.registerReady(id, '{"v":2}', meta)
      expect([v1.version, v2.version]).toEqual([1, 2])
      expect(v2).toMatchObject({ modelId: id, status: 'READY', variables: ['a', 'b'], slidingWindow: 28, errors: [] })
      expect((await store.getReadyState(id))?.stateJson).toBe('{"v":2}')
      expect((await store.getReadyState(id, 1))?.stateJson).toBe('{"v":1}')
      expect((await store.getInfo(id))?.version).toBe(2)
      expect((await store.getInfo(id, 1))?.displayName).toBe('demo')
      expect((await store.listVersions(id)).map((v) => v.version)).toEqual([1, 2])
      expect(await store.listModelIds()).toContain(id)
    })

    it('answers undefined for unknown models and versions', async () => {
      const { store, modelId } = makeStore()
      const id = modelId()
      expect(await store.getInfo(id)).toBeUndefined()
      expect(await store.getReadyState(id)).toBeUndefined()
      await store.registerReady(id, '{}', meta)
      expect(await store.getReadyState(id, 7)).toBeUndefined()
      expect(await store.listVersions(modelId())).toEqual([])
    })

    it('moves a created version through RUNNING to READY with its state, and never back', async () => {
      const { store, modelId } = makeStore()
      const id = modelId()
      await store.registerReady(id, '{"v":1}', meta)
      const created = await store.createVersion(id, { ...meta, jobId: 'job-1', trainingRequest: { source: 'x' } })
      expect(created).toMatchObject({ version: 2, status: 'CREATED', jobId: 'job-1', trainingRequest: { source: 'x' } })
      expect((await store.getReadyState(id))?.info.version).toBe(1) // a CREATED version is never served
      const running = await store.updateVersion(id, 2, { status: 'RUNNING', variables: ['x', 'y', 'z'] })
      expect(running).toMatchObject({ status: 'RUNNING', variables: ['x', 'y', 'z'] })
      await expect(store.updateVersion(id, 2, { status: 'READY' })).rejects.toThrow(/needs its state/)
      const ready = await store.updateVersion(id, 2, { status: 'READY', diagnosticsInfo: { loss: 1 } }, '{"v":2}')
      expect(ready).toMatchObject({ status: 'READY', diagnosticsInfo: { loss: 1 }, variables: ['x', 'y', 'z'] })
      expect(await store.getReadyState(id)).toMatchObject({ stateJson: '{"v":2}', info: { version: 2 } })
      expect(await store.updateVersion(id, 2, { status: 'FAILED' })).toBeUndefined()
      expect((await store.getInfo(id, 2))?.status).toBe('READY')
    })

    it('records a failed version with its errors and does not update unknown versions', async () => {
      const { store, modelId } = makeStore()
      const id = modelId()
      await store.createVersion(id, meta)
      const failed = await store.updateVersion(id, 1, {
        status: 'FAILED',
        errors: [{ code: 'NotEnoughInput', message: 'too short' }],
      })
      expect(failed).toMatchObject({ status: 'FAILED', errors: [{ code: 'NotEnoughInput' }] })
      expect(await store.getReadyState(id)).toBeUndefined()
      expect(await store.updateVersion(id, 9, { status: 'RUNNING' })).toBeUndefined()
      expect(await store.updateVersion(modelId(), 1, { status: 'RUNNING' })).toBeUndefined()
      expect(await store.listModelIds()).toContain(id)
    })

    it('deletes a model with all its versions', async () => {
      const { store, modelId } = makeStore()
      const id = modelId()
      await store.registerReady(id, '{}', meta)
      expect(await deleteUnderClaim(store, id)).toBe('deleted')
      expect(await store.getReadyState(id)).toBeUndefined()
      expect(await store.listModelIds()).not.toContain(id)
      expect(await deleteUnderClaim(store, id)).toBe('absent')
    })

    it('holds a delete claim for one delete at a time, released or renewed only with its token, and lets it end', async () => {
      const { store, modelId } = makeStore()
      const id = modelId()
      expect(await store.isClaimed(id, 'delete')).toBe(false)
      const first = (await store.claim(id, 'delete', 10_000)) ?? ''
      expect(first).toEqual(expect.any(String))
      expect(await store.isClaimed(id, 'delete')).toBe(true)
      expect(await store.isClaimed(id, 'bind')).toBe(false) // the kinds are apart
      expect(await store.claim(id, 'delete', 10_000)).toBeUndefined()
      await store.releaseClaim(id, 'delete', 'another-delete')
      expect(await store.renewClaim(id, 'delete', 'another-delete', 10_000)).toBe(false)
      expect(await store.isClaimed(id, 'delete')).toBe(true)
      await store.releaseClaim(id, 'delete', first)
      expect(await store.isClaimed(id, 'delete')).toBe(false)
      expect(await store.renewClaim(id, 'delete', first, 10_000)).toBe(false) // released: not brought back
      // A delete that died holding its claim: the claim ends with its hold; one renewed in time lasts.
      // (Times: a check that must come before an end has 300 ms or more to spare; one after an end is sure to be.)
      const dying = (await store.claim(id, 'delete', 400)) ?? ''
      await sleep(100)
      expect(await store.renewClaim(id, 'delete', dying, 800)).toBe(true)
      await sleep(300) // past the first hold
      expect(await store.isClaimed(id, 'delete')).toBe(true)
      await sleep(700) // past the renewed one
      expect(await store.isClaimed(id, 'delete')).toBe(false)
      expect(await store.renewClaim(id, 'delete', dying, 10_000)).toBe(false)
      expect(await store.claim(id, 'delete', 10_000)).toEqual(expect.any(String))
      expect(await store.claim(modelId(), 'delete', 10_000)).toEqual(expect.any(String)) // claims are per model
    })

    it('holds any number of bind claims at once, each released, renewed and ended on its own', async () => {
      const { store, modelId } = makeStore()
      const id = modelId()
      const a = (await store.claim(id, 'bind', 10_000)) ?? ''
      const b = (await store.claim(id, 'bind', 400)) ?? ''
      expect([a, b]).toEqual([expect.any(String), expect.any(String)])
      expect(await store.isClaimed(id, 'bind')).toBe(true)
      expect(await store.isClaimed(id, 'delete')).toBe(false)
      await store.releaseClaim(id, 'bind', a)
      expect(await store.isClaimed(id, 'bind')).toBe(true) // b still holds
      await sleep(500)
      expect(await store.isClaimed(id, 'bind')).toBe(false) // b ended with its hold
      expect(await store.renewClaim(id, 'bind', b, 10_000)).toBe(false) // and is not brought back
      expect(await store.isClaimed(id, 'bind')).toBe(false)
      const c = (await store.claim(id, 'bind', 400)) ?? ''
      await sleep(100)
      expect(await store.renewClaim(id, 'bind', c, 800)).toBe(true)
      await sleep(300) // past the first hold
      expect(await store.isClaimed(id, 'bind')).toBe(true)
      await store.releaseClaim(id, 'bind', c)
      expect(await store.isClaimed(id, 'bind')).toBe(false)
    })

    it('deletes only while the delete claim holds the given token', async () => {
      const { store, modelId } = makeStore()
      const id = modelId()
      await store.registerReady(id, '{}', meta)
      expect(await store.deleteModel(id, 'no-claim')).toBe('claimLost')
      const token = (await store.claim(id, 'delete', 10_000)) ?? ''
      expect(await store.deleteModel(id, 'another-delete')).toBe('claimLost')
      await store.releaseClaim(id, 'delete', token)
      expect(await store.deleteModel(id, token)).toBe('claimLost') // released (or ended) first
      const bind = (await store.claim(id, 'bind', 10_000)) ?? ''
      expect(await store.deleteModel(id, bind)).toBe('claimLost') // a bind claim is no delete claim
      expect(await store.getReadyState(id)).toBeDefined()
      expect(await store.listModelIds()).toContain(id)
    })

    it('numbers a model made again after a delete on from the old versions, so a late write of an old one misses', async () => {
      const { store, modelId } = makeStore()
      const id = modelId()
      await store.registerReady(id, '{}', meta)
      const training = await store.createVersion(id, meta) // still training when the model is deleted
      expect(await deleteUnderClaim(store, id)).toBe('deleted')
      const again = await store.createVersion(id, meta)
      expect(again.version).toBe(training.version + 1)
      expect(await store.updateVersion(id, training.version, { status: 'FAILED', errors: [] })).toBeUndefined()
      expect((await store.listVersions(id)).map((v) => [v.version, v.status])).toEqual([[again.version, 'CREATED']])
    })
  })
}
