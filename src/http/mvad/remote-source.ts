/**
 * http(s) `dataSource`s: one file (a OneTable CSV or a zip), or, with dataSchema MultiTable, an Azure Blob Storage
 * folder (blob-folder.ts) whose CSVs are listed and downloaded into one local folder. Every request — listing pages,
 * blobs, redirects — goes through publicGet (public addresses only unless allowed). One data source has one size
 * limit (`fetchMaxBytes`, over everything it fetches) and one time limit (`fetchTimeoutMs`, over all its requests);
 * the first failure aborts the requests still running. SAS signatures never appear in a message.
 */
import { createWriteStream } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { MVAD_LIMITS } from '../../data/limits.js'
import { redactSas } from '../../domain/redact.js'
import { ServiceError } from '../../errors.js'
import { blobFolder, folderCsvFiles, parseBlobList, type BlobFolder } from './blob-folder.js'
import { publicGet } from './public-fetch.js'

export interface RemoteSourceLimits {
  fetchMaxBytes: number
  fetchTimeoutMs: number
  /** Allow http(s) to loopback, private, link-local and other non-public addresses. */
  fetchPrivateHosts: boolean
}

const MAX_REDIRECTS = 5

/** Blobs asked for per listing page (List Blobs' own default is 5,000: a 4–5 MB page to parse on the event loop). */
const LIST_PAGE_BLOBS = 1000

/** Largest listing page read; a page of 1,000 blobs with their properties is under 1 MB. */
const MAX_LIST_PAGE_BYTES = 4 * 1024 * 1024

/** Blob names listed at most: a folder of data has up to 301 CSVs, not tens of thousands of files. */
const MAX_LISTED_BLOBS = 10_000

/** Listing pages read at most (a folder of only sub-folders lists no blob names, page after page). */
const MAX_LIST_PAGES = 10

/** Blobs of one folder downloaded at the same time. */
const PARALLEL_DOWNLOADS = 6

/** What the requests of one data source share: its size and time budget, and the abort of its first failure. */
interface Fetching {
  limits: RemoteSourceLimits
  signal: AbortSignal
  abort: (reason: unknown) => void
  written: { bytes: number }
}

/**
 * Downloads an http(s) data source into `dir`: the path of the file, or of the folder of a blob folder's CSVs. A
 * MultiTable URL that does not list as a blob folder (a zip behind a link, a server that is not Azure Blob Storage)
 * is downloaded as one file, as before folders were listed.
 */
export async function fetchRemoteSource(
  url: URL,
  dir: string,
  limits: RemoteSourceLimits,
  multiTable: boolean,
): Promise<string> {
  const controller = new AbortController()
  const fetching: Fetching = {
    limits,
    signal: AbortSignal.any([controller.signal, AbortSignal.timeout(limits.fetchTimeoutMs)]),
    abort: (reason) => controller.abort(reason),
    written: { bytes: 0 },
  }
  try {
    if (!multiTable || url.pathname.toLowerCase().endsWith('.zip')) return await download(url, dir, fetching)
    const listing = await listBlobFolder(url, fetching)
    if (listing.kind === 'folder') return await downloadFolder(listing.folder, listing.files, dir, fetching)
    try {
      return await download(url, dir, fetching)
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error
      const message = `${error.message}; read as an Azure Blob Storage folder, ${listing.reason}`
      throw new ServiceError(error.code, message, { cause: error })
    }
  } finally {
    controller.abort(new Error('data source done')) // whatever a request still reads (an error's body) ends here
  }
}

type Listing =
  | { kind: 'folder'; folder: BlobFolder; files: { name: string; file: string }[] }
  | { kind: 'not-a-folder'; reason: string }

/** The CSV files directly in a blob folder, or why the URL does not list as one. */
async function listBlobFolder(url: URL, fetching: Fetching): Promise<Listing> {
  const shown = redactSas(url.href)
  let folder: BlobFolder
  try {
    folder = blobFolder(url)
  } catch {
    return { kind: 'not-a-folder', reason: 'its path names no blob container' }
  }
  const names: string[] = []
  let subFolders = 0
  let csvCount = 0
  let marker: string | undefined
  for (let pages = 0; pages === 0 || marker !== undefined; pages++) {
    if (pages === MAX_LIST_PAGES) {
      throw new ServiceError('TooManyVariables', `dataSource ${shown}: the folder lists over ${MAX_LIST_PAGES} pages`)
    }
    const page = await readListingPage(folder.listUrl(marker, LIST_PAGE_BLOBS), fetching)
    if (typeof page !== 'string') return { kind: 'not-a-folder', reason: page.reason }
    let parsed: ReturnType<typeof parseBlobList>
    try {
      parsed = parseBlobList(page)
    } catch (error) {
      return { kind: 'not-a-folder', reason: `its List Blobs answer is ${(error as Error).message}` }
    }
    for (const name of parsed.names) names.push(name)
    subFolders += parsed.subFolders
    if (names.length > MAX_LISTED_BLOBS) {
      throw new ServiceError('TooManyVariables', `dataSource ${shown}: the folder holds over ${MAX_LISTED_BLOBS} blobs`)
    }
    csvCount += folderCsvFiles(parsed.names, folder.prefix).length // this page's only: not all pages again
    if (csvCount > MVAD_LIMITS.maxVariables) {
      throw new ServiceError(
        'TooManyVariables',
        `dataSource ${shown}: over ${MVAD_LIMITS.maxVariables} CSV files (variables) in the folder, the most supported`,
      )
    }
    marker = parsed.nextMarker
  }
  // Nothing under the prefix at all: the URL names a blob (a zip behind a link), not a folder.
  if (names.length === 0 && subFolders === 0) return { kind: 'not-a-folder', reason: 'it lists nothing' }
  const files = folderCsvFiles(names, folder.prefix)
  if (files.length === 0) {
    throw new ServiceError(
      'NoVariablesFound',
      `dataSource ${shown}: no CSV file directly in the folder "${folder.prefix}" (files in its sub-folders are not read)`,
    )
  }
  return { kind: 'folder', folder, files }
}

/**
 * One listing page as text, or why it is none: an error status (a SAS without list permission: 403), an answer that
 * is not XML (a zip, a CSV, a web page), or a page too large. Listing bytes count against the size limit.
 */
async function readListingPage(url: URL, fetching: Fetching): Promise<string | { reason: string }> {
  let outcome: Awaited<ReturnType<typeof publicGet>>
  try {
    outcome = await get(url, fetching)
  } catch (error) {
    return { reason: `listing it failed: ${failureText(error, fetching)}` }
  }
  if (outcome.kind !== 'response') return { reason: `listing it was not possible (${outcome.kind})` }
  const { response } = outcome
  const status = response.statusCode ?? 0
  const type = String(response.headers['content-type'] ?? '')
  if (status < 200 || status >= 300 || !/xml/i.test(type)) {
    response.destroy()
    if (status === 401 || status === 403)
      return { reason: `listing it answered HTTP ${status} (a SAS token must allow reading and listing: sp=rl)` }
    if (status < 200 || status >= 300) return { reason: `listing it answered HTTP ${status}` }
    return { reason: `listing it answered ${type === '' ? 'no content type' : type}, not XML` }
  }
  const chunks: Buffer[] = []
  let bytes = 0
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      bytes += chunk.length
      fetching.written.bytes += chunk.length
      if (bytes > MAX_LIST_PAGE_BYTES) {
        response.destroy()
        return { reason: `a listing page was over ${MAX_LIST_PAGE_BYTES} bytes` }
      }
      if (fetching.written.bytes > fetching.limits.fetchMaxBytes) throw tooBig(url, fetching)
      chunks.push(chunk)
    }
  } catch (error) {
    if (error instanceof ServiceError) throw error
    return { reason: `reading its listing failed: ${failureText(error, fetching)}` }
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** Downloads the folder's CSVs into `dir`, a few at a time; the first failure stops the others. */
async function downloadFolder(
  folder: BlobFolder,
  files: readonly { name: string; file: string }[],
  dir: string,
  fetching: Fetching,
): Promise<string> {
  await rm(dir, { recursive: true, force: true }) // a folder of exactly this listing
  const queue = [...files]
  let firstFailure: { error: unknown } | undefined
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined && firstFailure === undefined; next = queue.shift()) {
      try {
        await download(folder.blobUrl(next.name), dir, fetching, next.file)
      } catch (error) {
        if (firstFailure === undefined) {
          firstFailure = { error }
          fetching.abort(error) // the downloads still running end now (their errors are this one's echo)
        }
      }
    }
  }
  // All settle before the failure is thrown, so no download still writes into a folder removed for it.
  await Promise.all(Array.from({ length: Math.min(PARALLEL_DOWNLOADS, files.length) }, worker))
  if (firstFailure !== undefined) throw firstFailure.error
  return dir
}

/** A GET of one of the data source's requests: public addresses only (unless allowed), within its time limit. */
function get(url: URL, fetching: Fetching): ReturnType<typeof publicGet> {
  return publicGet(url, {
    signal: fetching.signal,
    allowPrivate: fetching.limits.fetchPrivateHosts,
    maxRedirects: MAX_REDIRECTS,
  })
}

/** A GET through publicGet that answered 2xx (and where it ended, after redirects); else the MVAD error. */
async function successfulResponse(
  url: URL,
  fetching: Fetching,
  shown: string,
): Promise<{ response: IncomingMessage; finalUrl: URL }> {
  let outcome: Awaited<ReturnType<typeof publicGet>>
  try {
    outcome = await get(url, fetching)
  } catch (error) {
    throw new ServiceError('FileNotExist', `dataSource ${shown} cannot be fetched: ${failureText(error, fetching)}`)
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
    outcome.response.destroy() // its body is not read (it could be endless)
    throw new ServiceError('FileNotExist', `dataSource ${shown} answered HTTP ${status}`)
  }
  if (/^text\/html/i.test(String(outcome.response.headers['content-type'] ?? ''))) {
    outcome.response.destroy()
    throw new ServiceError(
      'FileNotExist',
      `dataSource ${shown} answered a web page (text/html), not a CSV or zip: give the file's own download URL`,
    )
  }
  return { response: outcome.response, finalUrl: outcome.url }
}

/** An error's message; a request ended by the data source's time limit says which limit. */
function failureText(error: unknown, fetching: Fetching): string {
  const reason: unknown = fetching.signal.reason
  if (fetching.signal.aborted && reason instanceof Error && reason.name === 'TimeoutError') {
    return `not done within ${fetching.limits.fetchTimeoutMs} ms (MVAD_REST_FETCH_TIMEOUT_MS, for all of a data source's requests)`
  }
  return (error as Error).message
}

/** Downloads one URL into `dir`, as `file` or as the URL's (final) last path segment made safe. */
async function download(url: URL, dir: string, fetching: Fetching, file?: string): Promise<string> {
  const shown = redactSas(url.href)
  const { response, finalUrl } = await successfulResponse(url, fetching, shown)
  const { written, limits } = fetching
  const declared = Number(response.headers['content-length'] ?? 'NaN')
  if (written.bytes + declared > limits.fetchMaxBytes) {
    response.destroy()
    throw tooBig(url, fetching)
  }
  let name = file
  if (name === undefined) {
    const last = finalUrl.pathname.split('/').pop() ?? ''
    try {
      name = decodeURIComponent(last)
    } catch {
      name = last // not valid percent-encoding: the raw name, made safe below
    }
    name = (name === '' ? 'data.csv' : name).replace(/[^A-Za-z0-9._-]/g, '_')
  }
  await mkdir(dir, { recursive: true })
  const target = join(dir, name)
  try {
    await pipeline(
      response,
      byteLimit(written, limits.fetchMaxBytes, () => tooBig(url, fetching)),
      createWriteStream(target),
    )
  } catch (error) {
    if (error instanceof ServiceError) throw error
    throw new ServiceError(
      'FileNotExist',
      `dataSource ${shown} could not be downloaded: ${failureText(error, fetching)}`,
    )
  }
  return target
}

function tooBig(url: URL, fetching: Fetching): ServiceError {
  return new ServiceError(
    'InvalidFileSize',
    `dataSource ${redactSas(url.href)}: the data source exceeds ${fetching.limits.fetchMaxBytes} bytes (MVAD_REST_FETCH_MAX_BYTES)`,
  )
}

/** Passes chunks through until `counter.bytes` (shared by the streams of one source) exceeds `max`. */
export function byteLimit(counter: { bytes: number }, max: number, tooBigError: () => ServiceError): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      counter.bytes += chunk.length
      if (counter.bytes > max) done(tooBigError())
      else done(null, chunk)
    },
  })
}
