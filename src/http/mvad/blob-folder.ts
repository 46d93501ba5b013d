/**
 * A MultiTable `dataSource` given as an Azure Blob Storage folder URL — MVAD GA's form: "the blob URL cut before the
 * file name", with a SAS token in its query or on a container open to anonymous reads. The folder's blobs are found
 * with the storage's List Blobs operation (prefix = the folder, delimiter "/": blobs in sub-folders are not listed,
 * as MVAD ignored CSVs in a zip's sub-folders); each CSV directly in it is one variable, named after the file.
 * Pure: URLs and the listing's XML in, URLs and names out (data-source.ts does the requests).
 */
import { XMLParser } from 'fast-xml-parser'
import { redactSas } from '../../domain/redact.js'
import { ServiceError } from '../../errors.js'

/** Where a folder URL's container and folder are, and how to list and read its blobs. */
export interface BlobFolder {
  /** Blob-name prefix of the folder: its path inside the container with a trailing "/", or "" for the root. */
  prefix: string
  /**
   * The List Blobs request for one page (`marker` from the page before) of at most `maxResults` blobs (fewer if the
   * URL's own `maxresults` says so), keeping the URL's query (the SAS).
   */
  listUrl(marker: string | undefined, maxResults: number): URL
  /** A blob of the container, by its full name, with the URL's query (the SAS). */
  blobUrl(name: string): URL
}

/**
 * Path-style URLs name the account in their path (`http://127.0.0.1:10000/<account>/<container>/…`): the Azure SDK
 * takes a URL as path-style when its host is an IP address, localhost or host.docker.internal, or its port is one
 * of the emulators' (the SDK's PathStylePorts list); every other host is `<account>.blob.core.windows.net`-like, the path starting
 * with the container.
 */
const PATH_STYLE_PORTS = new Set(
  ['1000', '1010', '1100', '1110'].flatMap((head) => ['0', '1', '2', '3', '4'].map((tail) => head + tail)),
)

function isPathStyle(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '')
  return (
    host.includes(':') ||
    /^(localhost|host\.docker\.internal)$/i.test(host) ||
    /^\d{1,3}(\.\d{1,3}){3}$/.test(host) ||
    PATH_STYLE_PORTS.has(url.port)
  )
}

export function blobFolder(url: URL): BlobFolder {
  const segments = url.pathname.split('/').filter((s) => s !== '')
  const containerIndex = isPathStyle(url) ? 1 : 0
  const container = segments[containerIndex]
  if (container === undefined) {
    throw new ServiceError(
      'InvalidRequestParameterError',
      `dataSource ${redactSas(url.href)}: a MultiTable folder URL names a blob container and a folder in it`,
    )
  }
  const base = `${url.origin}/${segments.slice(0, containerIndex + 1).join('/')}`
  const folder = segments
    .slice(containerIndex + 1)
    .map(decodeSegment)
    .join('/')
  const prefix = folder === '' ? '' : `${folder}/`
  const withQuery = (href: string, extra: Record<string, string>): URL => {
    const result = new URL(href)
    for (const [key, value] of url.searchParams) result.searchParams.append(key, value)
    for (const [key, value] of Object.entries(extra)) result.searchParams.set(key, value)
    return result
  }
  return {
    prefix,
    listUrl: (marker, maxResults) => {
      const asked = Number(url.searchParams.get('maxresults'))
      const pageSize = Number.isInteger(asked) && asked > 0 ? Math.min(asked, maxResults) : maxResults
      return withQuery(base, {
        restype: 'container',
        comp: 'list',
        prefix,
        delimiter: '/',
        maxresults: String(pageSize),
        ...(marker === undefined ? {} : { marker }),
      })
    },
    blobUrl: (name) => withQuery(`${base}/${name.split('/').map(encodeURIComponent).join('/')}`, {}),
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false, // a blob named "007" stays "007"
  trimValues: false, // nor "a.csv " "a.csv"
  htmlEntities: true, // numeric character references (&#x20;) too
  isArray: (name) => name === 'Blob',
})

/** One page of a List Blobs answer: the blob names in it and the marker of the next page, if any. */
export function parseBlobList(xml: string): { names: string[]; subFolders: number; nextMarker: string | undefined } {
  let parsed: unknown
  try {
    parsed = parser.parse(xml)
  } catch (error) {
    throw new Error(`not XML (${(error as Error).message.split('\n')[0]})`, { cause: error })
  }
  const results = (parsed as { EnumerationResults?: unknown }).EnumerationResults
  if (typeof results !== 'object' || results === null) throw new Error('no <EnumerationResults> element')
  const { Blobs: blobs, NextMarker: next } = results as {
    Blobs?: { Blob?: unknown[]; BlobPrefix?: unknown } | ''
    NextMarker?: unknown
  }
  const names = (typeof blobs === 'object' ? (blobs.Blob ?? []) : []).map((blob) => blobName(blob))
  const prefixes = typeof blobs === 'object' ? blobs.BlobPrefix : undefined
  const subFolders = prefixes === undefined ? 0 : Array.isArray(prefixes) ? prefixes.length : 1
  return { names, subFolders, nextMarker: typeof next === 'string' && next !== '' ? next : undefined }
}

/** A <Blob>'s <Name>; `Encoded="true"` (a name with characters XML cannot carry) is percent-encoded. */
function blobName(blob: unknown): string {
  const name = (blob as { Name?: unknown } | null)?.Name
  if (typeof name === 'string') return name
  if (typeof name === 'object' && name !== null) {
    const { '#text': text, '@Encoded': encoded } = name as { '#text'?: unknown; '@Encoded'?: unknown }
    if (typeof text === 'string') return encoded === 'true' ? decodeSegment(text) : text
  }
  throw new Error('a <Blob> without a <Name>')
}

/**
 * The CSV files directly in the folder, as `{ name: blob name, file: file name }`, sorted by file name. A file name
 * must be usable as a local file and a variable name; a name that is not is an error, not a variable left out.
 */
export function folderCsvFiles(names: readonly string[], prefix: string): { name: string; file: string }[] {
  const files: { name: string; file: string }[] = []
  for (const name of names) {
    if (!name.startsWith(prefix)) continue
    const file = name.slice(prefix.length)
    if (file.includes('/') || !file.toLowerCase().endsWith('.csv')) continue
    if (!/^[^\0\\]+$/.test(file)) {
      throw new ServiceError('ReadingFileError', `blob ${JSON.stringify(name)}: its file name cannot name a variable`)
    }
    files.push({ name, file })
  }
  return files.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
}
