import { mkdirSync, mkdtempSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { RestAdmission } from '../../../../src/http/mvad/admission.js'

const dataDir = (): string => mkdtempSync(join(tmpdir(), 'mvad-admission-'))

describe('RestAdmission', () => {
  it('lets bodies in while they fit the budget, one alone whatever its size, and frees each once', () => {
    const admission = new RestAdmission({ bodyBytesInFlight: 100, heldDownloads: 1, dataDir: dataDir() })
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

  it('counts the requests whose data the folder holds (a zip and its unpacked copy are one) and those downloading', async () => {
    const dir = dataDir()
    const admission = new RestAdmission({ bodyBytesInFlight: 100, heldDownloads: 2, dataDir: dir })
    mkdirSync(join(dir, 'job-1'))
    mkdirSync(join(dir, 'job-1-unzipped'))
    const downloading = await admission.reserveDownload('job-2')
    await expect(admission.reserveDownload('job-3')).rejects.toMatchObject({
      code: 'TooManyRequests',
      message: expect.stringContaining('holds the downloaded data of 2 request(s)') as unknown,
    })
    // job-2's download landed in its folder: the reservation ends, the folder counts instead.
    mkdirSync(join(dir, 'job-2'))
    downloading()
    await expect(admission.reserveDownload('job-3')).rejects.toMatchObject({ code: 'TooManyRequests' })
    // job-1 ended and its files were removed: room again.
    await rm(join(dir, 'job-1'), { recursive: true })
    await rm(join(dir, 'job-1-unzipped'), { recursive: true })
    const next = await admission.reserveDownload('job-3')
    next()
  })

  it('takes a data folder that does not exist yet as empty', async () => {
    const admission = new RestAdmission({ bodyBytesInFlight: 1, heldDownloads: 1, dataDir: '/nonexistent/mvad-data' })
    const release = await admission.reserveDownload('job-1')
    await expect(admission.reserveDownload('job-2')).rejects.toMatchObject({ code: 'TooManyRequests' })
    release()
  })
})
