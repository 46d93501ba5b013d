/**
 * MVAD GA's MultiTable data source — an Azure Blob Storage folder URL with a SAS token — against Azurite (Microsoft's
 * Blob Storage emulator, a real server started here) and the running service on real Kafka and Redis, through
 * Microsoft's GA client: the folder's CSVs are listed (several pages) and read, sub-folders and other files left
 * out; the model equals one trained from the same rows as a OneTable file; detect-batch reads a folder too (the
 * model's dataSchema); a SAS without list permission, an empty folder and a URL that is no blob folder get MVAD
 * errors that hide the SAS signature.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isUnexpected } from '@azure-rest/ai-anomaly-detector'
import {
  BlobServiceClient,
  ContainerSASPermissions,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
} from '@azure/storage-blob'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { App } from '../../src/app.js'
import { csvText, readCsvRows, type CsvRows } from '../support/control-harness.js'
import { uniquePrefix } from '../support/names.js'
import { startRestApp, type MvadClient } from '../support/rest-app.js'

const ROOT = new URL('../../', import.meta.url).pathname
const AZURITE = join(ROOT, 'node_modules/.bin/azurite-blob')
const OMI = join(ROOT, '../shared/data/bench/asd/omi-1')
// Azurite's well-known development account (documented by Microsoft; it guards nothing).
const ACCOUNT = 'devstoreaccount1'
const ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
const WINDOW = 60
const prefix = uniquePrefix('blob')
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function freePort(): Promise<number> {
  const server = createNetServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** One `timestamp,value` CSV per variable of a OneTable cut (MVAD MultiTable). */
function multiTable({ header, rows }: CsvRows): Map<string, string> {
  const files = new Map<string, string>()
  header.slice(1).forEach((variable, j) => {
    const lines = rows.map((row) => `${row[0]},${row[j + 1]}`)
    files.set(`${variable}.csv`, ['timestamp,value', ...lines].join('\n') + '\n')
  })
  return files
}

describe('MVAD MultiTable data source: an Azure Blob Storage folder URL (Azurite)', () => {
  const work = mkdtempSync(join(tmpdir(), 'mvad-blob-'))
  const redis = new Redis(inject('redisUrl'))
  const train = readCsvRows(join(OMI, 'train.csv'), 1_500)
  const test = readCsvRows(join(OMI, 'test.csv'), 200)
  let azurite: ChildProcess | undefined
  let plainHttp: Server | undefined
  let app: App
  let client: MvadClient
  let containerUrl = ''
  let sas = ''
  let readOnlySas = ''

  beforeAll(async () => {
    const port = await freePort()
    mkdirSync(join(work, 'azurite'))
    azurite = spawn(
      AZURITE,
      [
        '--blobHost',
        '127.0.0.1',
        '--blobPort',
        String(port),
        '--inMemoryPersistence',
        '--silent',
        '--skipApiVersionCheck',
      ],
      { cwd: join(work, 'azurite'), stdio: ['ignore', 'ignore', 'inherit'] },
    )
    const credential = new StorageSharedKeyCredential(ACCOUNT, ACCOUNT_KEY)
    const container = new BlobServiceClient(`http://127.0.0.1:${port}/${ACCOUNT}`, credential).getContainerClient(
      prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-'),
    )
    for (let attempt = 0; ; attempt++) {
      try {
        await container.create()
        break
      } catch (error) {
        if (attempt === 100) throw new Error(`Azurite did not start on port ${port}: ${String(error)}`)
        await sleep(200)
      }
    }
    const upload = (name: string, text: string) =>
      container.getBlockBlobClient(name).upload(text, Buffer.byteLength(text))
    for (const [file, text] of multiTable(train)) await upload(`data/omi-1/train/${file}`, text)
    for (const [file, text] of multiTable(test)) await upload(`data/omi-1/test/${file}`, text)
    // Left out, as MVAD left them out: a sub-folder's CSV, a file that is no CSV, a sibling folder sharing the prefix.
    await upload('data/omi-1/train/old/x99.csv', 'timestamp,value\n2024-01-01T00:00:00Z,1\n')
    await upload('data/omi-1/train/README.txt', 'not data\n')
    await upload('data/omi-1/train-extra/x98.csv', 'timestamp,value\n2024-01-01T00:00:00Z,1\n')
    await upload('data/empty/README.txt', 'no CSV here\n')
    const token = (permissions: string): string =>
      generateBlobSASQueryParameters(
        {
          containerName: container.containerName,
          permissions: ContainerSASPermissions.parse(permissions),
          expiresOn: new Date(Date.now() + 3_600_000),
        },
        credential,
      ).toString()
    containerUrl = container.url
    sas = token('rl')
    readOnlySas = token('r')

    const local = join(work, 'local')
    mkdirSync(local)
    writeFileSync(join(local, 'train.csv'), csvText(train))
    plainHttp = createServer((_request, response) =>
      response.writeHead(200, { 'content-type': 'text/html' }).end('<html>a folder listing</html>'),
    )
    await new Promise<void>((resolve) => plainHttp?.listen(0, '127.0.0.1', resolve))

    ;({ app, client } = await startRestApp(prefix, work, {
      MVAD_REST_LOCAL_ROOTS: local,
      MVAD_REST_FETCH_PRIVATE_HOSTS: 'true', // Azurite listens on 127.0.0.1
    }))
  }, 120_000)

  afterAll(async () => {
    await app?.stop('test done')
    // Waited for, and keep-alive sockets closed: a child or a socket left open kept the test worker from exiting
    // ("Timeout terminating forks worker").
    if (azurite !== undefined && azurite.exitCode === null && azurite.signalCode === null) {
      const exited = once(azurite, 'exit')
      azurite.kill('SIGTERM')
      const force = setTimeout(() => azurite?.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(force)
    }
    plainHttp?.closeAllConnections()
    plainHttp?.close()
    const stale = await redis.keys(`${prefix}*`)
    if (stale.length > 0) await redis.del(...stale)
    await redis.quit()
  })

  async function trainModel(dataSource: string, dataSchema: 'OneTable' | 'MultiTable') {
    return client.path('/multivariate/models').post({
      body: {
        dataSource,
        dataSchema,
        startTime: train.rows[0]?.[0] ?? '',
        endTime: train.rows.at(-1)?.[0] ?? '',
        slidingWindow: WINDOW,
      },
    })
  }

  async function readyModel(modelId: string) {
    for (const deadline = Date.now() + 90_000; Date.now() < deadline; await sleep(300)) {
      const got = await client.path('/multivariate/models/{modelId}', modelId).get()
      if (isUnexpected(got)) throw new Error(JSON.stringify(got.body))
      const status = got.body.modelInfo?.status
      if (status === 'READY') return got.body
      if (status === 'FAILED') throw new Error(JSON.stringify(got.body.modelInfo?.errors))
    }
    throw new Error(`model ${modelId} not READY in 90 s`)
  }

  it('trains from the folder (listed over pages) the same model as from the same rows in one OneTable file', async () => {
    // maxresults (kept on every request, as the SAS is) makes the listing come in pages of 7 blobs.
    const folder = `${containerUrl}/data/omi-1/train?${sas}&maxresults=7`
    const fromFolder = await trainModel(folder, 'MultiTable')
    if (isUnexpected(fromFolder)) throw new Error(JSON.stringify(fromFolder.body))
    expect(fromFolder.status).toBe('201')
    expect(fromFolder.body.modelInfo).toMatchObject({ dataSource: folder, dataSchema: 'MultiTable' })
    const fromFile = await trainModel(join(work, 'local', 'train.csv'), 'OneTable')
    if (isUnexpected(fromFile)) throw new Error(JSON.stringify(fromFile.body))

    const model = await readyModel(fromFolder.body.modelId)
    const states = model.modelInfo?.diagnosticsInfo?.variableStates ?? []
    expect(states.map((s) => s.variable).sort()).toEqual(train.header.slice(1))
    expect(states.every((s) => s.effectiveCount === train.rows.length)).toBe(true)
    await readyModel(fromFile.body.modelId)

    // Same rows, same model: detect-last on the first test rows gives the same result through both.
    const variables = train.header.slice(1).map((variable, j) => ({
      variable,
      timestamps: test.rows.slice(0, WINDOW).map((row) => row[0] ?? ''),
      values: test.rows.slice(0, WINDOW).map((row) => Number(row[j + 1])),
    }))
    const last = await Promise.all(
      [fromFolder.body.modelId, fromFile.body.modelId].map((id) =>
        client
          .path('/multivariate/models/{modelId}:detect-last', id)
          .post({ body: { variables, topContributorCount: 5 } }),
      ),
    )
    for (const response of last) if (isUnexpected(response)) throw new Error(JSON.stringify(response.body))
    expect(last[0]?.body).toEqual(last[1]?.body)

    // detect-batch reads a folder too: the model was trained from one (its request carries no dataSchema).
    const batch = await client.path('/multivariate/models/{modelId}:detect-batch', fromFolder.body.modelId).post({
      body: {
        dataSource: `${containerUrl}/data/omi-1/test?${sas}`,
        startTime: test.rows[0]?.[0] ?? '',
        endTime: test.rows.at(-1)?.[0] ?? '',
        topContributorCount: 3,
      },
    })
    if (isUnexpected(batch)) throw new Error(JSON.stringify(batch.body))
    let results: { timestamp: string; errors?: unknown[] }[] = []
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(300)) {
      const got = await client.path('/multivariate/detect-batch/{resultId}', batch.body.resultId).get()
      if (isUnexpected(got)) throw new Error(JSON.stringify(got.body))
      expect(got.body.summary.status).not.toBe('FAILED')
      if (got.body.summary.status === 'READY') {
        results = got.body.results
        break
      }
    }
    expect(results).toHaveLength(test.rows.length)
    expect(results.at(-1)?.errors ?? []).toEqual([]) // the last rows have a full window of their own
  }, 180_000)

  it('answers a SAS without list permission, an empty folder and a URL that is no blob folder with MVAD errors', async () => {
    const cases: [string, string, RegExp][] = [
      [`${containerUrl}/data/omi-1/train?${readOnlySas}`, 'FileNotExist', /HTTP 403 .*sp=rl/],
      [`${containerUrl}/data/empty?${sas}`, 'NoVariablesFound', /no CSV file directly in the folder "data\/empty\/"/],
      [
        `http://127.0.0.1:${(plainHttp?.address() as AddressInfo).port}/some/folder`,
        'FileNotExist',
        /answered a web page .*read as an Azure Blob Storage folder, listing it answered text\/html/,
      ],
    ]
    for (const [dataSource, code, message] of cases) {
      const response = await trainModel(dataSource, 'MultiTable')
      expect(response.status, dataSource).toBe('400')
      const body = response.body as { code?: string; message?: string }
      expect(body.code, dataSource).toBe(code)
      expect(body.message, dataSource).toMatch(message)
      expect(body.message, dataSource).not.toMatch(/sig=[^…&]/) // the signature is hidden
    }
  }, 60_000)
})
