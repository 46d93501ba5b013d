import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { strToU8, zipSync } from 'fflate'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveDataSource } from '../../../../src/http/mvad/data-source.js'

const CSV = 'timestamp,a\n2024-01-01T00:00:00Z,1\n'

describe('MVAD dataSource resolution', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mvad-ds-'))
  const limits = { dataDir: join(dir, 'data'), fetchMaxBytes: 10_000, fetchTimeoutMs: 5_000 }
  const server = createServer((request, response) => {
    if (request.url === '/big.csv') response.end('x'.repeat(20_000))
    else if (request.url === '/data.csv') response.end(CSV)
    else response.writeHead(404).end()
  })
  let base = ''

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('takes local paths and file:// URLs as they are', async () => {
    const file = join(dir, 'x.csv')
    writeFileSync(file, CSV)
    expect(await resolveDataSource(file, 'a', limits)).toBe(file)
    expect(await resolveDataSource(pathToFileURL(file).href, 'b', limits)).toBe(file)
  })

  it('downloads http URLs within the size limit', async () => {
    const path = await resolveDataSource(`${base}/data.csv`, 'c', limits)
    expect(readFileSync(path, 'utf8')).toBe(CSV)
    await expect(resolveDataSource(`${base}/big.csv`, 'd', limits)).rejects.toMatchObject({ code: 'InvalidFileSize' })
    await expect(resolveDataSource(`${base}/missing.csv`, 'e', limits)).rejects.toMatchObject({ code: 'FileNotExist' })
    await expect(resolveDataSource('ftp://host/x.csv', 'f', limits)).rejects.toMatchObject({
      code: 'InvalidRequestParameterError',
    })
  })

  it('unpacks zips: one CSV is a OneTable file, several a MultiTable folder (sub-folders ignored)', async () => {
    const one = join(dir, 'one.zip')
    writeFileSync(one, zipSync({ 'series.csv': strToU8(CSV) }))
    const single = await resolveDataSource(one, 'g', limits)
    expect(readFileSync(single, 'utf8')).toBe(CSV)
    const many = join(dir, 'many.bin') // no .zip name: recognised by its signature
    writeFileSync(many, zipSync({ 'a.csv': strToU8(CSV), 'b.csv': strToU8(CSV), 'sub/c.csv': strToU8(CSV) }))
    const folder = await resolveDataSource(many, 'h', limits)
    expect(statSync(folder).isDirectory()).toBe(true)
    expect(statSync(join(folder, 'a.csv')).isFile()).toBe(true)
    expect(() => statSync(join(folder, 'c.csv'))).toThrow()
  })
})
