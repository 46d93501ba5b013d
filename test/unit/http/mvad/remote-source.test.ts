/**
 * The http(s) side of data sources against a local HTTP server that answers List Blobs pages and blobs (Azurite, the
 * real emulator, is in test/integration/rest-blob-folder.test.ts): pages, one size limit over a folder, the first
 * failure ending the other downloads, the time limit, and what is not a blob folder.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { strToU8, zipSync } from 'fflate'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveDataSource } from '../../../../src/http/mvad/data-source.js'

const csv = (value: number): string => `timestamp,value\n2024-01-01T00:00:00Z,${value}\n`

/** Folders the server lists: blob names (relative to the folder) → content, or a behaviour. */
// A value is the blob's content, or one of the behaviours 'missing' (404), 'hang' (never ends) and 'big' (6,000 bytes).
const FOLDERS: Record<string, Record<string, string>> = {
  ok: { 'a.csv': csv(1), 'b.csv': csv(2), 'c.csv': csv(3), 'notes.txt': 'x', 'sub/d.csv': csv(4) },
  broken: { 'a.csv': csv(1), 'b.csv': 'missing', 'c.csv': 'hang', 'd.csv': 'hang' },
  slow: { 'a.csv': 'hang' },
  big: { 'a.csv': 'big', 'b.csv': 'big' },
  text: { 'notes.txt': 'no CSV here' },
  // 302 CSVs, one more than MVAD allows (listed in one page: see the server).
  many: Object.fromEntries(Array.from({ length: 302 }, (_, i) => [`v${i}.csv`, csv(i)])),
}

describe('http(s) data sources: Azure Blob Storage folders and plain files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mvad-remote-'))
  const limits = {
    dataDir: join(dir, 'data'),
    fetchMaxBytes: 10_000,
    fetchTimeoutMs: 5_000,
    localRoots: [],
    fetchPrivateHosts: true, // the test server is on 127.0.0.1
  }
  const hanging: ServerResponse[] = []
  const listed: string[] = []
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x')
    if (url.pathname === '/acct/cont' && url.searchParams.get('comp') === 'list') {
      listed.push(url.search)
      const prefix = url.searchParams.get('prefix') ?? ''
      const folder = FOLDERS[prefix.replace(/\/$/, '')] ?? {}
      // Top-level entries only (delimiter "/"), two per page, the marker being the index of the next entry.
      const entries = Object.keys(folder).filter((name) => !name.includes('/'))
      const start = Number(url.searchParams.get('marker') ?? '0')
      const size = prefix === 'many/' ? entries.length : 2
      const page = entries.slice(start, start + size)
      const next = start + size < entries.length ? String(start + size) : ''
      const blobs = page.map((name) => `<Blob><Name>${prefix}${name}</Name></Blob>`).join('')
      response.writeHead(200, { 'content-type': 'application/xml' })
      response.end(`<EnumerationResults><Blobs>${blobs}</Blobs><NextMarker>${next}</NextMarker></EnumerationResults>`)
      return
    }
    const [, folderName = '', name = ''] = /^\/acct\/cont\/([^/]+)\/(.+)$/.exec(url.pathname) ?? []
    const content = FOLDERS[folderName]?.[decodeURIComponent(name)]
    if (url.pathname === '/files/broken.zip') {
      response.end(Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(64, 7)]))
    } else if (url.pathname === '/acct/cont/files/zipped') {
      response.end(Buffer.from(zipSync({ 'a.csv': strToU8(csv(6)), 'b.csv': strToU8(csv(7)) })))
    } else if (content === 'hang') {
      response.writeHead(200, { 'content-type': 'text/csv' })
      response.write('timestamp,value\n')
      hanging.push(response)
    } else if (content === 'big') response.end('1,'.repeat(3_000))
    else if (typeof content === 'string' && content !== 'missing') response.end(content)
    else if (url.pathname === '/page') response.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>')
    else if (url.pathname === '/files/data.csv') response.end(csv(5))
    else response.writeHead(404).end()
  })
  let base = ''

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    for (const response of hanging) response.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  it('lists a folder over its pages and downloads its CSVs, one file per variable (SAS kept, sub-folders left out)', async () => {
    listed.length = 0
    const folder = await resolveDataSource(`${base}/acct/cont/ok?sv=1&sig=s`, 'ok', limits, 'MultiTable')
    expect(readdirSync(folder).sort()).toEqual(['a.csv', 'b.csv', 'c.csv'])
    expect(readFileSync(join(folder, 'b.csv'), 'utf8')).toBe(csv(2))
    expect(listed).toHaveLength(2) // a.csv b.csv | c.csv notes.txt — two names a page (sub/ is not listed)
    expect(listed.every((query) => query.includes('sig=s') && query.includes('delimiter=%2F'))).toBe(true)
  })

  it('stops at the first failed download, ends the ones still running, and leaves nothing behind', async () => {
    const started = Date.now()
    await expect(resolveDataSource(`${base}/acct/cont/broken`, 'broken', limits, 'MultiTable')).rejects.toMatchObject({
      code: 'FileNotExist',
      message: expect.stringMatching(/broken\/b\.csv answered HTTP 404/) as unknown,
    })
    expect(Date.now() - started).toBeLessThan(limits.fetchTimeoutMs) // the hanging blobs did not run to the time limit
    expect(existsSync(join(limits.dataDir, 'broken'))).toBe(false)
  })

  it('bounds all of a data source: its time (every request together) and its size (every file together)', async () => {
    await expect(
      resolveDataSource(`${base}/acct/cont/slow`, 'slow', { ...limits, fetchTimeoutMs: 300 }, 'MultiTable'),
    ).rejects.toMatchObject({
      code: 'FileNotExist',
      message: expect.stringMatching(/MVAD_REST_FETCH_TIMEOUT_MS/) as unknown,
    })
    // Two blobs of 6,000 bytes: each within the 10,000-byte limit, not both.
    await expect(resolveDataSource(`${base}/acct/cont/big`, 'big', limits, 'MultiTable')).rejects.toMatchObject({
      code: 'InvalidFileSize',
    })
    expect(existsSync(join(limits.dataDir, 'big'))).toBe(false)
  })

  it('downloads a MultiTable URL that does not list as a folder as one file, and refuses a web page', async () => {
    const file = await resolveDataSource(`${base}/files/data.csv`, 'plain', limits, 'MultiTable')
    expect(readFileSync(file, 'utf8')).toBe(csv(5))
    await expect(resolveDataSource(`${base}/page?sig=secret`, 'page', limits, 'MultiTable')).rejects.toMatchObject({
      code: 'FileNotExist',
      message: expect.stringMatching(/page\?sig=… answered a web page .*as an Azure Blob Storage folder/) as unknown,
    })
    // A blob behind a folder-like URL: its listing has nothing under it, so it is downloaded (and a zip unpacked).
    const unzipped = await resolveDataSource(`${base}/acct/cont/files/zipped`, 'zipped', limits, 'MultiTable')
    expect(readdirSync(unzipped).sort()).toEqual(['a.csv', 'b.csv'])
    await expect(resolveDataSource(`${base}/acct/cont/none`, 'none', limits, 'MultiTable')).rejects.toMatchObject({
      code: 'FileNotExist',
      message: expect.stringMatching(
        /none answered HTTP 404; read as an Azure Blob Storage folder, it lists nothing/,
      ) as unknown,
    })
    await expect(resolveDataSource(`${base}/acct/cont/text`, 'text', limits, 'MultiTable')).rejects.toMatchObject({
      code: 'NoVariablesFound',
    })
    const roomy = { ...limits, fetchMaxBytes: 100_000 } // the listing page alone is 12 kB
    await expect(resolveDataSource(`${base}/acct/cont/many`, 'many', roomy, 'MultiTable')).rejects.toMatchObject({
      code: 'TooManyVariables',
      message: expect.stringMatching(/over 301 CSV files/) as unknown,
    })
    expect(existsSync(join(limits.dataDir, 'many'))).toBe(false) // refused before any download
    // What goes wrong unpacking a download is told in the caller's terms: the URL, not the server's data folder.
    await expect(resolveDataSource(`${base}/files/broken.zip?sig=secret`, 'broken-zip', limits)).rejects.toMatchObject({
      code: 'ReadingFileError',
      message: expect.stringMatching(new RegExp(`^${base}/files/broken\\.zip is not a readable zip`)) as unknown,
    })
    expect(existsSync(join(limits.dataDir, 'broken-zip'))).toBe(false)
    await expect(resolveDataSource('http://exa mple/x.csv?sig=secret', 'bad', limits)).rejects.toMatchObject({
      code: 'InvalidRequestParameterError',
      message: 'dataSource http://exa mple/x.csv?sig=… is not a valid URL',
    })
  })

  it('refuses private addresses for folders as for files unless they are allowed', async () => {
    const closed = { ...limits, fetchPrivateHosts: false }
    await expect(resolveDataSource(`${base}/acct/cont/ok`, 'closed', closed, 'MultiTable')).rejects.toMatchObject({
      code: 'InvalidRequestParameterError',
      message: expect.stringMatching(/not a public address/) as unknown,
    })
  })
})
