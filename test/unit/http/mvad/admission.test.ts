import { mkdirSync, mkdtempSync, utimesSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { RestAdmission, type HeldDataOwner } from '../../../../src/http/mvad/admission.js'

const limits = { bodyBytesInFlight: 100, bodyLimitBytes: 1_000, heldDownloads: 2 }

describe('RestAdmission', () => {
  it('lets bodies in while they fit the budget, one alone whatever its size, and frees each once', () => {
    const admission = new RestAdmission(limits)
    const big = admission.admitBody(500) // alone: in, though over the budget
    expect(() => admission.admitBody(1)).toThrow(expect.objectContaining({ code: 'TooManyRequests' }))
    big()
    big() // a second release (abort, then response) frees nothing more
    const a = admission.admitBody(60)
    const b = admission.admitBody(40)
    expect(() => admission.admitBody(1)).toThrow(
      /2 other request\(s\) \(100 bytes, MVAD_REST_BODY_BYTES_IN_FLIGHT 100\)/,
    )
    a()
    expect(() => admission.admitBody(61)).toThrow(expect.objectContaining({ code: 'TooManyRequests' }))
    const c = admission.admitBody(60)
    b()
    c()
    admission.admitBody(100)
  })

  it('counts a body of unknown length, or one declared over the body limit, as the body limit', () => {
    const admission = new RestAdmission({ ...limits, bodyBytesInFlight: 1_500 })
    const unknown = admission.admitBody(undefined) // 1,000
    expect(() => admission.admitBody(600)).toThrow(/\(1000 bytes/)
    unknown()
    const huge = admission.admitBody(10_000_000) // answered 413 by the body limit; counts 1,000 meanwhile
    admission.admitBody(500)()
    huge()
  })

  it('holds data for requests until released, the limit answering TooManyRequests', () => {
    const admission = new RestAdmission(limits)
    admission.reserveHeld('job-1')
    admission.reserveHeld('job-2')
    expect(() => admission.reserveHeld('job-3')).toThrow(
      expect.objectContaining({
        code: 'TooManyRequests',
        message: expect.stringContaining('holds the data of 2 request(s)') as unknown,
      }),
    )
    admission.releaseHeld('job-1')
    admission.reserveHeld('job-3')
    expect(admission.heldCount).toBe(2)
  })

  it('lets go of data whose job ended without telling this instance, never of a request still being answered', async () => {
    const admission = new RestAdmission({ ...limits, heldDownloads: 10 })
    const owners: Record<string, HeldDataOwner> = {
      live: 'live',
      ended: 'ended',
      expired: 'unknown',
      answering: 'unknown',
    }
    for (const id of Object.keys(owners)) admission.reserveHeld(id)
    for (const id of ['live', 'ended', 'expired']) admission.answered(id)
    const removed: string[] = []
    await admission.reconcile(
      (id) => Promise.resolve(owners[id] ?? 'unknown'),
      (id) => Promise.resolve(void removed.push(id)),
    )
    expect(removed).toEqual(['ended', 'expired'])
    expect(admission.heldCount).toBe(2) // live, answering
  })

  it('takes stock at start of the request data an earlier run left in the data folder, and nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mvad-leftovers-'))
    const id = (n: number): string => `0000000${n}-0000-4000-8000-000000000000`
    const [live, ended, old, young] = [1, 2, 3, 4].map(id) as [string, string, string, string]
    for (const name of [live, ended, `${ended}-unzipped`, old, young, 'train.csv', 'charts']) {
      mkdirSync(join(dir, name))
    }
    const hourAgo = new Date(Date.now() - 3_600_000)
    utimesSync(join(dir, old), hourAgo, hourAgo)
    const admission = new RestAdmission({ ...limits, heldDownloads: 10 })
    const owners: Record<string, HeldDataOwner> = { [live]: 'live', [ended]: 'ended' }
    const ownerOf = (x: string): Promise<HeldDataOwner> => Promise.resolve(owners[x] ?? 'unknown')
    const removed: string[] = []
    const remove = (x: string): Promise<void> => Promise.resolve(void removed.push(x))
    const result = await admission.adoptLeftovers(dir, ownerOf, remove, 15 * 60_000)
    // A young folder no job knows may be another instance's download in progress on a shared folder: held for now.
    expect(result).toEqual({ held: [live, young], removed: [ended, old] })
    expect(removed).toEqual([ended, old]) // not train.csv or charts: names the API does not make
    expect(admission.heldCount).toBe(2)
    await admission.reconcile(ownerOf, remove)
    expect(admission.heldCount).toBe(2) // the young one is not of age yet
    const empty = await new RestAdmission(limits).adoptLeftovers('/nonexistent/mvad', ownerOf, remove, 0)
    expect(empty).toEqual({ held: [], removed: [] })
  })

  it('removes unclaimed data found at start once it comes of age with still no job', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mvad-unclaimed-'))
    const young = '00000009-0000-4000-8000-000000000000'
    mkdirSync(join(dir, young))
    const admission = new RestAdmission(limits)
    const removed: string[] = []
    const remove = (x: string): Promise<void> => Promise.resolve(void removed.push(x))
    await admission.adoptLeftovers(dir, () => Promise.resolve('unknown'), remove, 100)
    expect(admission.heldCount).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 150))
    await admission.reconcile(() => Promise.resolve('unknown'), remove)
    expect([removed, admission.heldCount]).toEqual([[young], 0])
  })
})
