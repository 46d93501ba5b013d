/**
 * MVAD `dataSource` → a OneTable file or MultiTable folder the jobs can read. Accepted: a local path or `file://`
 * URL inside one of the configured local roots (none by default: a caller of the API must not read the server's
 * files), or an `http(s)://` URL fetched with a size and time limit into the data folder — to public addresses only
 * unless private hosts are allowed (no requests to the cluster's own services or cloud metadata endpoints), every
 * redirect checked the same way; a `.zip` (or a download that is a zip) is extracted — one CSV at its top level is
 * a OneTable file, several are a MultiTable folder (as MVAD's preview zips; files in sub-folders are ignored). With
 * `dataSchema` MultiTable, an http(s) URL that is not a zip is an Azure Blob Storage folder (MVAD GA's form, see
 * blob-folder.ts): its CSV blobs are listed and downloaded into one folder, and a zip of one CSV is a MultiTable
 * folder of one variable. SAS signatures are hidden in every message.
 */
import { createWriteStream } from 'node:fs'
import { mkdir, open, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { openPromise as openZip, type Entry, type ZipFile } from 'yauzl'
import { redactSas, withoutQuery } from '../../domain/redact.js'
import { ServiceError } from '../../errors.js'
import { byteLimit, fetchRemoteSource } from './remote-source.js'
import { insideFolders } from '../../data/file-roots.js'

export interface DataSourceLimits {
  /** Folder for downloads and extracted zips. */
  dataDir: string
  fetchMaxBytes: number
  fetchTimeoutMs: number
  /** Folders a local path or file:// URL may be in (symbolic links resolved); none = local paths refused. */
  localRoots: readonly string[]
  /** Allow http(s) to loopback, private, link-local and other non-public addresses. */
  fetchPrivateHosts: boolean
}

export type DataSchema = 'OneTable' | 'MultiTable'

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04])

/** An http(s) dataSource: downloaded into the data folder (anything else is a local path or file:// URL). */
export function isHttpDataSource(dataSource: string): boolean {
  return /^https?:\/\//i.test(dataSource)
}

/**
 * Removes what resolveDataSource downloaded or unpacked for `id` (the job has read it). Local paths are never
 * touched: only the folders named after `id` inside the data folder.
 */
export async function removeDataSourceFiles(dataDir: string, id: string): Promise<void> {
  if (!/^[A-Za-z0-9._-]+$/.test(id) || id === '.' || id === '..') return
  await rm(join(dataDir, id), { recursive: true, force: true })
  await rm(join(dataDir, `${id}-unzipped`), { recursive: true, force: true })
}

/**
 * Where the data of `dataSource` is on this machine; `id` names the download/extraction folder. `dataSchema` is the
 * request's (training) or the model's (detection).
 */
export async function resolveDataSource(
  dataSource: string,
  id: string,
  limits: DataSourceLimits,
  dataSchema: DataSchema = 'OneTable',
): Promise<string> {
  let path: string
  if (isHttpDataSource(dataSource)) {
    let url: URL
    try {
      url = new URL(dataSource)
    } catch {
      throw new ServiceError('InvalidRequestParameterError', `dataSource ${redactSas(dataSource)} is not a valid URL`)
    }
    const dir = join(limits.dataDir, id)
    let fetched: string | undefined
    try {
      fetched = await fetchRemoteSource(url, dir, limits, dataSchema === 'MultiTable')
      return await unpackIfZip(fetched, id, limits, dataSchema)
    } catch (error) {
      await rm(dir, { recursive: true, force: true }) // nothing fetched is left for a request that failed
      // An unpacking error names the downloaded file: the caller knows the URL, not the server's data folder.
      if (!(error instanceof ServiceError) || fetched === undefined || !error.message.includes(fetched)) throw error
      throw new ServiceError(error.code, error.message.replaceAll(fetched, withoutQuery(dataSource)), { cause: error })
    }
  } else if (/^file:\/\//i.test(dataSource)) {
    let local: string
    try {
      local = fileURLToPath(dataSource)
    } catch (error) {
      throw new ServiceError(
        'InvalidRequestParameterError',
        `dataSource ${redactSas(dataSource)}: ${(error as Error).message}`,
      )
    }
    path = await checkLocal(local, dataSource, limits)
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(dataSource)) {
    throw new ServiceError(
      'InvalidRequestParameterError',
      `dataSource ${redactSas(dataSource)}: only local paths, file:// and http(s):// URLs are supported`,
    )
  } else {
    path = await checkLocal(dataSource, dataSource, limits)
  }
  return unpackIfZip(path, id, limits, dataSchema)
}

/** A zip's CSVs unpacked (a OneTable file, or a MultiTable folder), or the path as it is. */
async function unpackIfZip(
  path: string,
  id: string,
  limits: DataSourceLimits,
  dataSchema: DataSchema,
): Promise<string> {
  const isZip = path.toLowerCase().endsWith('.zip') || (await startsWithZipMagic(path))
  if (!isZip) return path
  return extractZip(path, join(limits.dataDir, `${id}-unzipped`), limits.fetchMaxBytes, dataSchema === 'MultiTable')
}

/** The local path, if it lies inside a configured root (resolved through symbolic links when it exists). */
async function checkLocal(path: string, dataSource: string, limits: DataSourceLimits): Promise<string> {
  if (limits.localRoots.length === 0) {
    throw new ServiceError(
      'InvalidRequestParameterError',
      `dataSource ${dataSource}: local paths are not enabled on this service (MVAD_REST_LOCAL_ROOTS); use an http(s) URL`,
    )
  }
  const { inside, real } = await insideFolders(path, limits.localRoots) // a missing file: the job says FileNotExist
  if (!inside) {
    throw new ServiceError(
      'InvalidRequestParameterError',
      `dataSource ${dataSource}: outside the folders this service reads data from (MVAD_REST_LOCAL_ROOTS)`,
    )
  }
  return real
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

/**
 * Unpacks the zip's top-level CSV files with yauzl: it reads the central directory (not the local headers a crafted
 * file can fake), inflates with Node's zlib off the JavaScript thread — the event loop, which also scores the stream,
 * is never held for the archive — and checks each entry's real size against the one declared. The size limit counts
 * the bytes actually written.
 */
async function extractZip(zipPath: string, dir: string, maxBytes: number, multiTable: boolean): Promise<string> {
  const unreadable = (error: unknown): ServiceError =>
    error instanceof ServiceError
      ? error
      : new ServiceError('ReadingFileError', `${zipPath} is not a readable zip: ${(error as Error).message}`)
  let zipfile: ZipFile
  try {
    zipfile = await openZip(zipPath, { lazyEntries: true, validateEntrySizes: true })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ServiceError('FileNotExist', `${zipPath} does not exist`)
    }
    throw unreadable(error)
  }
  const names: string[] = []
  const written = { bytes: 0 } // over every entry: the limit is on what the zip unpacks to
  const tooBig = (): ServiceError => new ServiceError('InvalidFileSize', `${zipPath} unpacks to over ${maxBytes} bytes`)
  try {
    await mkdir(dir, { recursive: true })
    for await (const entry of zipEntries(zipfile)) {
      const name = entry.fileName
      if (name.includes('/') || !name.toLowerCase().endsWith('.csv')) continue
      // Entry names are the zip's, not ours: only a plain file name is written (no NUL, no path tricks).
      if (!/^[^\0\\/]+$/.test(name) || name === '.' || name === '..')
        throw new ServiceError('ReadingFileError', `${zipPath}: entry name ${JSON.stringify(name)} is not a file name`)
      if (names.includes(name))
        throw new ServiceError('ReadingFileError', `${zipPath}: entry ${JSON.stringify(name)} appears twice`)
      if (written.bytes + entry.uncompressedSize > maxBytes) throw tooBig()
      names.push(name)
      const limit = byteLimit(written, maxBytes, tooBig)
      await pipeline(await zipfile.openReadStreamPromise(entry), limit, createWriteStream(join(dir, name)))
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw unreadable(error)
  } finally {
    zipfile.close()
  }
  if (names.length === 0) {
    await rm(dir, { recursive: true, force: true }) // the folder made for the entries, left empty
    throw new ServiceError('NoVariablesFound', `${zipPath} holds no CSV file at its top level`)
  }
  return names.length === 1 && !multiTable ? join(dir, names[0] as string) : dir
}

/** The entries of a zip opened with lazyEntries, one at a time. */
async function* zipEntries(zipfile: ZipFile): AsyncGenerator<Entry> {
  for (;;) {
    const next = new Promise<Entry | undefined>((resolve, reject) => {
      const settle = (entry: Entry | undefined, error?: Error): void => {
        zipfile.off('entry', onEntry).off('end', onEnd).off('error', onError)
        if (error === undefined) resolve(entry)
        else reject(error)
      }
      const onEntry = (entry: Entry): void => settle(entry)
      const onEnd = (): void => settle(undefined)
      const onError = (error: Error): void => settle(undefined, error)
      zipfile.on('entry', onEntry).on('end', onEnd).on('error', onError)
    })
    zipfile.readEntry()
    const entry = await next
    if (entry === undefined) return
    yield entry
  }
}
