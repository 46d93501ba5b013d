/**
 * MVAD `dataSource` → a OneTable file or MultiTable folder the jobs can read. Accepted: a local path, a `file://`
 * URL, or an `http(s)://` URL fetched with a size and time limit into the data folder; a `.zip` (or a download
 * that is a zip) is extracted — one CSV at its top level is a OneTable file, several are a MultiTable folder (as
 * MVAD's preview zips; files in sub-folders are ignored, as MVAD did).
 */
import { createWriteStream } from 'node:fs'
import { mkdir, open, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { unzipSync } from 'fflate'
import { ServiceError } from '../../errors.js'

export interface DataSourceLimits {
  /** Folder for downloads and extracted zips. */
  dataDir: string
  fetchMaxBytes: number
  fetchTimeoutMs: number
}

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04])

/** Where the data of `dataSource` is on this machine; `id` names the download/extraction folder. */
export async function resolveDataSource(dataSource: string, id: string, limits: DataSourceLimits): Promise<string> {
  let path: string
  if (/^https?:\/\//i.test(dataSource)) {
    path = await download(dataSource, join(limits.dataDir, id), limits)
  } else if (/^file:\/\//i.test(dataSource)) {
    path = fileURLToPath(dataSource)
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(dataSource)) {
    throw new ServiceError(
      'InvalidRequestParameterError',
      `dataSource ${dataSource}: only local paths, file:// and http(s):// URLs are supported`,
    )
  } else {
    path = dataSource
  }
  const isZip = path.toLowerCase().endsWith('.zip') || (await startsWithZipMagic(path))
  return isZip ? extractZip(path, join(limits.dataDir, `${id}-unzipped`), limits.fetchMaxBytes) : path
}

async function startsWithZipMagic(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false
    const file = await open(path, 'r')
    try {
      const head = Buffer.alloc(4)
      await file.read(head, 0, 4, 0)
      return head.equals(ZIP_MAGIC)
    } finally {
      await file.close()
    }
  } catch {
    return false // a missing file is reported by the job (FileNotExist), as MVAD defers data errors
  }
}

async function download(url: string, dir: string, limits: DataSourceLimits): Promise<string> {
  await mkdir(dir, { recursive: true })
  let response: Response
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(limits.fetchTimeoutMs), redirect: 'follow' })
  } catch (error) {
    throw new ServiceError('FileNotExist', `dataSource ${url} cannot be fetched: ${(error as Error).message}`)
  }
  if (!response.ok || response.body === null) {
    throw new ServiceError('FileNotExist', `dataSource ${url} answered HTTP ${response.status}`)
  }
  const declared = Number(response.headers.get('content-length') ?? 'NaN')
  if (declared > limits.fetchMaxBytes) {
    throw new ServiceError('InvalidFileSize', `dataSource ${url} is ${declared} bytes, over ${limits.fetchMaxBytes}`)
  }
  const name = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '') || 'data.csv'
  const target = join(dir, name.replace(/[^A-Za-z0-9._-]/g, '_'))
  let seen = 0
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length
      if (seen > limits.fetchMaxBytes) {
        done(new ServiceError('InvalidFileSize', `dataSource ${url} exceeds ${limits.fetchMaxBytes} bytes`))
        return
      }
      done(null, chunk)
    },
  })
  try {
    await pipeline(Readable.fromWeb(response.body), limit, createWriteStream(target))
  } catch (error) {
    if (error instanceof ServiceError) throw error
    throw new ServiceError('FileNotExist', `dataSource ${url} could not be downloaded: ${(error as Error).message}`)
  }
  return target
}

async function extractZip(zipPath: string, dir: string, maxBytes: number): Promise<string> {
  let entries: Record<string, Uint8Array>
  try {
    let total = 0
    entries = unzipSync(new Uint8Array(await readFile(zipPath)), {
      filter: (file) => {
        total += file.originalSize
        if (total > maxBytes) throw new ServiceError('InvalidFileSize', `${zipPath} unpacks to over ${maxBytes} bytes`)
        return !file.name.includes('/') && file.name.toLowerCase().endsWith('.csv')
      },
    })
  } catch (error) {
    if (error instanceof ServiceError) throw error
    throw new ServiceError('ReadingFileError', `${zipPath} is not a readable zip: ${(error as Error).message}`)
  }
  const names = Object.keys(entries)
  if (names.length === 0) throw new ServiceError('NoVariablesFound', `${zipPath} holds no CSV file at its top level`)
  await mkdir(dir, { recursive: true })
  for (const name of names) await writeFile(join(dir, name), entries[name] as Uint8Array)
  return names.length === 1 ? join(dir, names[0] as string) : dir
}
