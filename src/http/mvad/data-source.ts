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
import { mkdir, open, realpath, rm, stat } from 'node:fs/promises'
import { join, relative, resolve, isAbsolute } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { openPromise as openZip, type Entry, type ZipFile } from 'yauzl'
import { MVAD_LIMITS } from '../../data/limits.js'
import { ServiceError } from '../../errors.js'
import { blobFolder, folderCsvFiles, parseBlobList, redactSas } from './blob-folder.js'
import { publicGet } from './public-fetch.js'

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

const MAX_REDIRECTS = 5

/** Pages of a blob folder's listing read at most (5,000 blobs a page; MVAD allows 301 variables). */
const MAX_LIST_PAGES = 20

/** Largest listing page read (a page of 5,000 blobs with their properties is about 5 MB). */
const MAX_LIST_PAGE_BYTES = 32 * 1024 * 1024

/** Blobs of one folder downloaded at the same time. */
const PARALLEL_DOWNLOADS = 6

export type DataSchema = 'OneTable' | 'MultiTable'

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04])

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
  if (/^https?:\/\//i.test(dataSource)) {
    const url = new URL(dataSource)
    const dir = join(limits.dataDir, id)
    try {
      if (dataSchema === 'MultiTable' && !url.pathname.toLowerCase().endsWith('.zip')) {
        return await downloadBlobFolder(url, dir, limits)
      }
      path = await download(url, dir, limits)
    } catch (error) {
      await rm(dir, { recursive: true, force: true }) // nothing half-downloaded is left for a request that failed
      throw error
    }
  } else if (/^file:\/\//i.test(dataSource)) {
    let local: string
    try {
      local = fileURLToPath(dataSource)
    } catch (error) {
      throw new ServiceError('InvalidRequestParameterError', `dataSource ${dataSource}: ${(error as Error).message}`)
    }
    path = await checkLocal(local, dataSource, limits)
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(dataSource)) {
    throw new ServiceError(
      'InvalidRequestParameterError',
      `dataSource ${dataSource}: only local paths, file:// and http(s):// URLs are supported`,
    )
  } else {
    path = await checkLocal(dataSource, dataSource, limits)
  }
  const isZip = path.toLowerCase().endsWith('.zip') || (await startsWithZipMagic(path))
  if (!isZip) return path
  return extractZip(path, join(limits.dataDir, `${id}-unzipped`), limits.fetchMaxBytes, dataSchema === 'MultiTable')
}

/**
 * Lists an Azure Blob Storage folder (all pages) and downloads its CSV blobs into `dir`, one file per variable; the
 * size limit is on all of them together.
 */
async function downloadBlobFolder(url: URL, dir: string, limits: DataSourceLimits): Promise<string> {
  const shown = redactSas(url.href)
  const folder = blobFolder(url)
  const names: string[] = []
  let marker: string | undefined
  for (let page = 0; page === 0 || marker !== undefined; page++) {
    if (page === MAX_LIST_PAGES) {
      throw new ServiceError('TooManyVariables', `dataSource ${shown}: the folder holds over ${page * 5000} blobs`)
    }
    const listing = await fetchText(folder.listUrl(marker), limits, shown)
    let parsed: ReturnType<typeof parseBlobList>
    try {
      parsed = parseBlobList(listing)
    } catch (error) {
      throw new ServiceError(
        'FileNotExist',
        `dataSource ${shown} is not an Azure Blob Storage folder (its List Blobs answer is ${(error as Error).message}); ` +
          'give the URL of a zip of its CSV files, or set dataSchema to OneTable for one CSV',
      )
    }
    for (const name of parsed.names) names.push(name)
    marker = parsed.nextMarker
  }
  const files = folderCsvFiles(names, folder.prefix)
  if (files.length === 0) {
    throw new ServiceError(
      'NoVariablesFound',
      `dataSource ${shown}: no CSV file directly in the folder "${folder.prefix}" (files in its sub-folders are not read)`,
    )
  }
  if (files.length > MVAD_LIMITS.maxVariables) {
    throw new ServiceError(
      'TooManyVariables',
      `dataSource ${shown}: ${files.length} CSV files (variables) in the folder, at most ${MVAD_LIMITS.maxVariables} are supported`,
    )
  }
  await rm(dir, { recursive: true, force: true }) // a folder of exactly this listing
  const written = { bytes: 0 }
  // A few at a time: one request per variable, up to 301 of them, each within the fetch timeout.
  // All settle before the first failure is thrown, so no download still writes into a folder removed for it.
  const queue = [...files]
  let failed = false
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined && !failed; next = queue.shift()) {
      try {
        await download(folder.blobUrl(next.name), dir, limits, { file: next.file, written })
      } catch (error) {
        failed = true
        throw error
      }
    }
  }
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(PARALLEL_DOWNLOADS, files.length) }, worker))
  const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')
  if (failure !== undefined) throw failure.reason
  return dir
}

/** The body of a GET (a listing page) as text, within MAX_LIST_PAGE_BYTES; errors name the folder as `shown`. */
async function fetchText(url: URL, limits: DataSourceLimits, shown: string): Promise<string> {
  const { response } = await successfulOutcome(url, limits, shown, 'listing the folder (List Blobs) ')
  const chunks: Buffer[] = []
  let bytes = 0
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      bytes += chunk.length
      if (bytes > MAX_LIST_PAGE_BYTES) {
        response.destroy()
        throw new ServiceError(
          'InvalidFileSize',
          `dataSource ${shown}: a listing page over ${MAX_LIST_PAGE_BYTES} bytes`,
        )
      }
      chunks.push(chunk)
    }
  } catch (error) {
    if (error instanceof ServiceError) throw error
    throw new ServiceError(
      'FileNotExist',
      `dataSource ${shown}: listing the folder failed: ${(error as Error).message}`,
    )
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** The local path, if it lies inside a configured root (resolved through symbolic links when it exists). */
async function checkLocal(path: string, dataSource: string, limits: DataSourceLimits): Promise<string> {
  if (limits.localRoots.length === 0) {
    throw new ServiceError(
      'InvalidRequestParameterError',
      `dataSource ${dataSource}: local paths are not enabled on this service (MVAD_REST_LOCAL_ROOTS); use an http(s) URL`,
    )
  }
  const absolute = resolve(path)
  const real = await realpath(absolute).catch(() => absolute) // a missing file is reported by the job (FileNotExist)
  const roots = await Promise.all(limits.localRoots.map((root) => realpath(root).catch(() => resolve(root))))
  const inside = (candidate: string): boolean =>
    roots.some((root) => {
      const rel = relative(root, candidate)
      return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
    })
  if (!inside(absolute) || !inside(real)) {
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

/** A GET through publicGet that answered 2xx; every other outcome is the MVAD error it stands for. */
async function successfulOutcome(
  url: URL,
  limits: DataSourceLimits,
  shown: string,
  doing: string,
): Promise<Extract<Awaited<ReturnType<typeof publicGet>>, { kind: 'response' }>> {
  let outcome: Awaited<ReturnType<typeof publicGet>>
  try {
    outcome = await publicGet(url, {
      signal: AbortSignal.timeout(limits.fetchTimeoutMs),
      allowPrivate: limits.fetchPrivateHosts,
      maxRedirects: MAX_REDIRECTS,
    })
  } catch (error) {
    throw new ServiceError(
      'FileNotExist',
      `dataSource ${shown}: ${doing}cannot be fetched: ${(error as Error).message}`,
    )
  }
  if (outcome.kind === 'refused') {
    throw new ServiceError(
      'InvalidRequestParameterError',
      `dataSource ${redactSas(outcome.url.href)}: ${outcome.reason} (MVAD_REST_FETCH_PRIVATE_HOSTS allows it)`,
    )
  }
  if (outcome.kind === 'bad_redirect') {
    throw new ServiceError(
      'InvalidRequestParameterError',
      `dataSource ${shown} redirects to ${redactSas(outcome.url.href)}`,
    )
  }
  if (outcome.kind === 'too_many_redirects')
    throw new ServiceError('FileNotExist', `dataSource ${shown}: too many redirects`)
  const status = outcome.response.statusCode ?? 0
  if (status < 200 || status >= 300) {
    outcome.response.resume()
    const hint =
      doing !== '' && (status === 403 || status === 401) ? ' (a SAS token must allow reading and listing: sp=rl)' : ''
    throw new ServiceError('FileNotExist', `dataSource ${shown}: ${doing}answered HTTP ${status}${hint}`)
  }
  return outcome
}

/**
 * Downloads one URL into `dir`, as `options.file` or the URL's last path segment made safe; `options.written` counts
 * the bytes of every download of one data source against the limit.
 */
async function download(
  url: URL,
  dir: string,
  limits: DataSourceLimits,
  options: { file?: string; written?: { bytes: number } } = {},
): Promise<string> {
  const shown = redactSas(url.href)
  const { response, url: current } = await successfulOutcome(url, limits, shown, '')
  await mkdir(dir, { recursive: true })
  const written = options.written ?? { bytes: 0 }
  const declared = Number(response.headers['content-length'] ?? 'NaN')
  if (written.bytes + declared > limits.fetchMaxBytes) {
    response.destroy()
    throw new ServiceError(
      'InvalidFileSize',
      `dataSource ${shown} is ${declared} bytes, over ${limits.fetchMaxBytes - written.bytes}`,
    )
  }
  let name = options.file
  if (name === undefined) {
    const last = current.pathname.split('/').pop() ?? ''
    try {
      name = decodeURIComponent(last)
    } catch {
      name = last // not valid percent-encoding: the raw name, made safe below
    }
    name = (name === '' ? 'data.csv' : name).replace(/[^A-Za-z0-9._-]/g, '_')
  }
  const target = join(dir, name)
  const limit = byteLimit(
    written,
    limits.fetchMaxBytes,
    () => new ServiceError('InvalidFileSize', `dataSource ${shown} exceeds ${limits.fetchMaxBytes} bytes`),
  )
  try {
    await pipeline(response, limit, createWriteStream(target))
  } catch (error) {
    if (error instanceof ServiceError) throw error
    throw new ServiceError('FileNotExist', `dataSource ${shown} could not be downloaded: ${(error as Error).message}`)
  }
  return target
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

/** Passes chunks through until `counter.bytes` (shared by the streams of one source) exceeds `max`. */
function byteLimit(counter: { bytes: number }, max: number, tooBig: () => ServiceError): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      counter.bytes += chunk.length
      if (counter.bytes > max) done(tooBig())
      else done(null, chunk)
    },
  })
}
