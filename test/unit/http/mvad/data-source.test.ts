import { mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { strToU8, zipSync } from 'fflate'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { removeDataSourceFiles, resolveDataSource } from '../../../../src/http/mvad/data-source.js'
import { isPublicAddress } from '../../../../src/http/mvad/public-fetch.js'

const CSV = 'timestamp,a\n2024-01-01T00:00:00Z,1\n'

describe('MVAD dataSource resolution', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mvad-ds-'))
  const limits = {
    dataDir: join(dir, 'data'),
    fetchMaxBytes: 10_000,
    fetchTimeoutMs: 5_000,
    localRoots: [dir],
    fetchPrivateHosts: true, // the test server is on 127.0.0.1
  }
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0]
    if (path === '/big.csv') response.end('x'.repeat(20_000))
    else if (path === '/data.csv' || path === '/odd%zz.csv') response.end(CSV)
    else if (path === '/moved') response.writeHead(302, { location: '/data.csv' }).end()
    else if (path === '/to-ftp') response.writeHead(302, { location: 'ftp://host/x.csv' }).end()
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

  it('reads local paths only inside the configured roots (none by default), links resolved', async () => {
    const file = join(dir, 'x.csv')
    writeFileSync(file, CSV)
    const closed = { ...limits, localRoots: [] }
    await expect(resolveDataSource(file, 'r1', closed)).rejects.toMatchObject({
      code: 'InvalidRequestParameterError',
      message: expect.stringContaining('MVAD_REST_LOCAL_ROOTS') as string,
    })
    const inner = join(dir, 'root')
    mkdirSync(inner, { recursive: true })
    const scoped = { ...limits, localRoots: [inner] }
    for (const outside of [file, join(inner, '..', 'x.csv'), '/etc/passwd', pathToFileURL('/proc/self/environ').href]) {
      await expect(resolveDataSource(outside, 'r2', scoped)).rejects.toMatchObject({
        code: 'InvalidRequestParameterError',
        message: expect.stringContaining('outside the folders') as string,
      })
    }
    symlinkSync(file, join(inner, 'link.csv')) // inside by name, outside in fact
    await expect(resolveDataSource(join(inner, 'link.csv'), 'r3', scoped)).rejects.toMatchObject({
      code: 'InvalidRequestParameterError',
    })
    await expect(resolveDataSource('file://otherhost/x.csv', 'r4', scoped)).rejects.toMatchObject({
      code: 'InvalidRequestParameterError',
    })
  })

  it('fetches from public addresses only unless private hosts are allowed, redirects included', async () => {
    const closed = { ...limits, fetchPrivateHosts: false }
    await expect(resolveDataSource(`${base}/data.csv`, 'p1', closed)).rejects.toMatchObject({
      code: 'InvalidRequestParameterError',
      message: expect.stringContaining('not a public address') as string,
    })
    await expect(resolveDataSource('http://169.254.169.254/latest/meta-data/', 'p2', closed)).rejects.toMatchObject({
      code: 'InvalidRequestParameterError',
    })
    // The URL parser writes [::ffff:127.0.0.1] as [::ffff:7f00:1]; it used to pass as public and reach loopback.
    const mapped = base.replace('127.0.0.1', '[::ffff:127.0.0.1]')
    await expect(resolveDataSource(`${mapped}/data.csv`, 'p6', closed)).rejects.toMatchObject({
      code: 'InvalidRequestParameterError',
    })
    expect(readFileSync(await resolveDataSource(`${base}/moved`, 'p3', limits), 'utf8')).toBe(CSV)
    await expect(resolveDataSource(`${base}/to-ftp`, 'p4', limits)).rejects.toMatchObject({
      code: 'InvalidRequestParameterError',
    })
    expect(readFileSync(await resolveDataSource(`${base}/odd%zz.csv`, 'p5', limits), 'utf8')).toBe(CSV)
  })

  it('tells public addresses from loopback, private, link-local and reserved ones', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700::1111', '::ffff:8.8.8.8']) {
      expect(isPublicAddress(address)).toBe(true)
    }
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      'not-an-ip',
    ]) {
      expect(isPublicAddress(address)).toBe(false)
    }
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
    // dataSchema MultiTable: a folder of one variable, named after its file (not a OneTable file of a `value` column).
    const oneVariable = await resolveDataSource(one, 'g2', limits, 'MultiTable')
    expect(readFileSync(join(oneVariable, 'series.csv'), 'utf8')).toBe(CSV)
    const many = join(dir, 'many.bin') // no .zip name: recognised by its signature
    writeFileSync(many, zipSync({ 'a.csv': strToU8(CSV), 'b.csv': strToU8(CSV), 'sub/c.csv': strToU8(CSV) }))
    const folder = await resolveDataSource(many, 'h', limits)
    expect(statSync(folder).isDirectory()).toBe(true)
    expect(statSync(join(folder, 'a.csv')).isFile()).toBe(true)
    expect(() => statSync(join(folder, 'c.csv'))).toThrow()
    const odd = join(dir, 'odd.zip')
    writeFileSync(odd, zipSync({ 'a\u0000b.csv': strToU8(CSV) }))
    await expect(resolveDataSource(odd, 'i', limits)).rejects.toMatchObject({ code: 'ReadingFileError' })
    const none = join(dir, 'none.zip')
    writeFileSync(none, zipSync({ 'sub/a.csv': strToU8(CSV), 'readme.txt': strToU8('x') }))
    await expect(resolveDataSource(none, 'j', limits)).rejects.toMatchObject({ code: 'NoVariablesFound' })
    expect(() => statSync(join(limits.dataDir, 'j-unzipped'))).toThrow() // no empty folder left
    await expect(resolveDataSource(join(dir, 'missing.zip'), 'k', limits)).rejects.toMatchObject({
      code: 'FileNotExist',
    })
  })

  it('leaves nothing behind for a download that failed, and hides SAS signatures in its messages', async () => {
    await expect(resolveDataSource(`${base}/big.csv?sv=1&sig=secret`, 'm', limits)).rejects.toMatchObject({
      code: 'InvalidFileSize',
      message: expect.not.stringContaining('secret') as unknown,
    })
    expect(() => statSync(join(limits.dataDir, 'm'))).toThrow()
    await expect(resolveDataSource(`${base}/gone.csv?sig=secret`, 'n', limits)).rejects.toMatchObject({
      code: 'FileNotExist',
      message: expect.stringMatching(/gone\.csv\?sig=….*HTTP 404/) as unknown,
    })
  })

  it('refuses a zip whose entries inflate to more than they declare, or to over the limit, and leaves nothing behind', async () => {
    const bomb = zipSync({ 'a.csv': strToU8('1,'.repeat(50_000)) }) // 100,000 bytes, over the 10,000 limit
    // Declare 10 bytes instead, in the local header (offset 22) and the central directory entry (offset 24).
    const view = new DataView(bomb.buffer, bomb.byteOffset, bomb.byteLength)
    view.setUint32(22, 10, true)
    const central = bomb.findIndex((_, i) => view.getUint32(i, true) === 0x02014b50 && i > 30)
    view.setUint32(central + 24, 10, true)
    const lying = join(dir, 'lying.zip')
    writeFileSync(lying, bomb)
    // The archive lies, so it is refused as unreadable before the limit is reached; an honest one over it, by size.
    await expect(resolveDataSource(lying, 'bomb', limits)).rejects.toMatchObject({
      code: 'ReadingFileError',
      message: expect.stringContaining('too many bytes') as string,
    })
    expect(() => statSync(join(limits.dataDir, 'bomb-unzipped'))).toThrow()
    const honest = join(dir, 'honest.zip')
    writeFileSync(honest, zipSync({ 'a.csv': strToU8(CSV), 'b.csv': strToU8('1,'.repeat(50_000)) }))
    await expect(resolveDataSource(honest, 'big', limits)).rejects.toMatchObject({ code: 'InvalidFileSize' })
    expect(() => statSync(join(limits.dataDir, 'big-unzipped'))).toThrow()
  })

  it('unpacks stored (uncompressed) entries, and refuses a truncated zip', async () => {
    const stored = join(dir, 'stored.zip')
    writeFileSync(stored, zipSync({ 'a.csv': [strToU8(CSV), { level: 0 }], 'b.csv': strToU8(CSV) }))
    const folder = await resolveDataSource(stored, 'stored', limits)
    expect(readFileSync(join(folder, 'a.csv'), 'utf8')).toBe(CSV)
    expect(readFileSync(join(folder, 'b.csv'), 'utf8')).toBe(CSV)
    const whole = zipSync({ 'a.csv': strToU8(CSV.repeat(40)) })
    const cut = join(dir, 'cut.zip')
    writeFileSync(cut, whole.subarray(0, 60))
    await expect(resolveDataSource(cut, 'cut', limits)).rejects.toMatchObject({ code: 'ReadingFileError' })
    expect(() => statSync(join(limits.dataDir, 'cut-unzipped'))).toThrow()
  })

  it('removes what it downloaded and unpacked for an id once the job is done, and nothing else', async () => {
    const zipped = join(dir, 'pack.zip')
    writeFileSync(zipped, zipSync({ 'a.csv': strToU8(CSV), 'b.csv': strToU8(CSV) }))
    const downloaded = await resolveDataSource(`${base}/data.csv`, 'job-1', limits)
    const unpacked = await resolveDataSource(zipped, 'job-1', limits) // a local zip unpacks under the id too
    await removeDataSourceFiles(limits.dataDir, 'job-1')
    expect(() => statSync(downloaded)).toThrow()
    expect(() => statSync(unpacked)).toThrow()
    expect(statSync(zipped).isFile()).toBe(true) // the caller's own file stays
    await removeDataSourceFiles(limits.dataDir, '..') // not a plain id: ignored
    expect(statSync(dir).isDirectory()).toBe(true)
  })
})
