import { describe, expect, it } from 'vitest'
import { blobFolder, folderCsvFiles, parseBlobList } from '../../../../src/http/mvad/blob-folder.js'
import { ServiceError } from '../../../../src/errors.js'

const SAS = 'sv=2024-11-04&sp=rl&sr=c&se=2030-01-01T00%3A00%3A00Z&sig=abc%2Bdef%3D'

describe('blobFolder', () => {
  it('reads an account URL as <container>/<folder> and keeps the SAS on the listing and on each blob', () => {
    const folder = blobFolder(
      new URL(`https://acct.blob.core.windows.net/sample-multitable/sample_data_20_3000?${SAS}`),
    )
    expect(folder.prefix).toBe('sample_data_20_3000/')
    const list = folder.listUrl(undefined, 1000)
    expect(list.origin + list.pathname).toBe('https://acct.blob.core.windows.net/sample-multitable')
    expect(Object.fromEntries(list.searchParams)).toEqual({
      sv: '2024-11-04',
      sp: 'rl',
      sr: 'c',
      se: '2030-01-01T00:00:00Z',
      sig: 'abc+def=',
      restype: 'container',
      comp: 'list',
      prefix: 'sample_data_20_3000/',
      delimiter: '/',
      maxresults: '1000',
    })
    expect(folder.listUrl('2!84!MDAw', 1000).searchParams.get('marker')).toBe('2!84!MDAw')
    // The URL's own maxresults is kept when smaller than ours (pages of 7 in the Azurite test), never larger.
    const sized = (given: string): string | null =>
      blobFolder(new URL(`https://acct.blob.core.windows.net/c/f?maxresults=${given}`))
        .listUrl(undefined, 1000)
        .searchParams.get('maxresults')
    expect([sized('7'), sized('5000'), sized('x')]).toEqual(['7', '1000', '1000'])
    const blob = folder.blobUrl('sample_data_20_3000/series 1.csv')
    expect(blob.origin + blob.pathname).toBe(
      'https://acct.blob.core.windows.net/sample-multitable/sample_data_20_3000/series%201.csv',
    )
    expect(blob.searchParams.get('sig')).toBe('abc+def=')
    expect(blob.searchParams.has('comp')).toBe(false)
  })

  it('reads emulator and IP URLs path-style (<account>/<container>/<folder>), as the Azure SDK does', () => {
    for (const href of [
      'http://127.0.0.1:41234/devstoreaccount1/data/a/b',
      'http://localhost:8080/devstoreaccount1/data/a/b',
      'http://[::1]:41234/devstoreaccount1/data/a/b',
      'http://storage.example:10000/devstoreaccount1/data/a/b',
      'http://storage.example:11104/devstoreaccount1/data/a/b',
    ]) {
      const folder = blobFolder(new URL(href))
      expect(folder.prefix, href).toBe('a/b/')
      expect(folder.listUrl(undefined, 1000).pathname, href).toBe('/devstoreaccount1/data')
    }
  })

  it('reads other ports of a named host as an account URL (the SDK lists 10000–10004, 10100–10104, 11000–11004, 11100–11104)', () => {
    expect(blobFolder(new URL('http://storage.example:10005/data/a')).prefix).toBe('a/')
    expect(blobFolder(new URL('https://storage.example:8443/data/a')).listUrl(undefined, 1).pathname).toBe('/data')
  })

  it('takes a container URL as its root folder, decodes folder names, and refuses a URL without a container', () => {
    expect(blobFolder(new URL('https://acct.blob.core.windows.net/data')).prefix).toBe('')
    expect(blobFolder(new URL('https://acct.blob.core.windows.net/data/my%20folder/')).prefix).toBe('my folder/')
    expect(() => blobFolder(new URL(`https://acct.blob.core.windows.net/?${SAS}`))).toThrow(
      /names a blob container and a folder in it/,
    )
  })
})

describe('parseBlobList', () => {
  it('reads the names and the next marker of a List Blobs page (the documented XML)', () => {
    const xml = `<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="https://acct.blob.core.windows.net/" ContainerName="data">
  <Prefix>f/</Prefix><MaxResults>3</MaxResults><Delimiter>/</Delimiter>
  <Blobs>
    <Blob><Name>f/007.csv</Name><Properties><Content-Length>12</Content-Length></Properties></Blob>
    <Blob><Name>f/a &amp; b.csv</Name><Properties /></Blob>
    <Blob><Name> f/spaced.csv </Name></Blob>
    <Blob><Name>f/caf&#xE9;.csv</Name></Blob>
    <BlobPrefix><Name>f/sub/</Name></BlobPrefix>
    <Blob><Name Encoded="true">f/%EF%BF%BEodd.csv</Name></Blob>
  </Blobs>
  <NextMarker>2!96!MDAwMDQ2</NextMarker>
</EnumerationResults>`
    expect(parseBlobList(xml)).toEqual({
      names: ['f/007.csv', 'f/a & b.csv', ' f/spaced.csv ', 'f/café.csv', 'f/\uFFFEodd.csv'],
      subFolders: 1,
      nextMarker: '2!96!MDAwMDQ2',
    })
  })

  it('reads a last page (empty NextMarker) and an empty folder, and refuses what is not a listing', () => {
    const last = '<EnumerationResults><Blobs><Blob><Name>x.csv</Name></Blob></Blobs><NextMarker /></EnumerationResults>'
    expect(parseBlobList(last)).toEqual({ names: ['x.csv'], subFolders: 0, nextMarker: undefined })
    expect(parseBlobList('<EnumerationResults><Blobs /><NextMarker/></EnumerationResults>')).toEqual({
      names: [],
      subFolders: 0,
      nextMarker: undefined,
    })
    const twoFolders = '<BlobPrefix><Name>a/</Name></BlobPrefix><BlobPrefix><Name>b/</Name></BlobPrefix>'
    expect(parseBlobList(`<EnumerationResults><Blobs>${twoFolders}</Blobs></EnumerationResults>`).subFolders).toBe(2)
    expect(() => parseBlobList('<html><body>index of /</body></html>')).toThrow(/no <EnumerationResults>/)
    expect(() => parseBlobList('timestamp,value\n')).toThrow()
  })
})

describe('folderCsvFiles', () => {
  it('keeps the CSV files directly in the folder, sorted by file name', () => {
    const names = ['f/b.csv', 'f/a.CSV', 'f/notes.txt', 'f/sub/c.csv', 'f-2/d.csv', 'other/e.csv']
    expect(folderCsvFiles(names, 'f/')).toEqual([
      { name: 'f/a.CSV', file: 'a.CSV' },
      { name: 'f/b.csv', file: 'b.csv' },
    ])
    expect(folderCsvFiles(['x.csv', 'f/y.csv'], '')).toEqual([{ name: 'x.csv', file: 'x.csv' }])
  })

  it('refuses a file name that cannot be a local file', () => {
    expect(() => folderCsvFiles(['f/a\\b.csv'], 'f/')).toThrow(ServiceError)
  })
})
