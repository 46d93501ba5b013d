/**
 * The MVAD v1.1 REST drop-in, driven by Microsoft's own GA client (@azure-rest/ai-anomaly-detector) against the
 * running service on real Kafka and Redis: train → poll → list → detect-batch → poll → detect-last → delete on a
 * bench entity, with results equal to the offline CLI's for the same rows; then each kind of bad request gets its
 * documented status and code, and none a 5xx.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import {
  isUnexpected,
  paginate,
  type AnomalyDetectionModelOutput,
  type MultivariateDetectionResultOutput,
} from '@azure-rest/ai-anomaly-detector'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { App } from '../../src/app.js'
import { keySpace } from '../../src/state/keys.js'
import { RedisModelStore } from '../../src/state/redis-model-store.js'
import { readCsvRows } from '../support/control-harness.js'
import { uniquePrefix } from '../support/names.js'
import { REST_TEST_KEY as KEY, startRestApp, type MvadClient } from '../support/rest-app.js'

const run = promisify(execFile)
const ROOT = new URL('../../', import.meta.url).pathname
const CLI = join(ROOT, 'dist/src/cli/main.js')
const OMI = join(ROOT, '../shared/data/bench/asd/omi-1')
const WINDOW = 60
const prefix = uniquePrefix('rest')
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

interface OfflineRow {
  timestamp: string
  value?: { isAnomaly: boolean; score: number; severity: number; interpretation: unknown[] }
}

describe('MVAD v1.1 REST API with the GA JavaScript SDK', () => {
  const work = mkdtempSync(join(tmpdir(), 'mvad-rest-'))
  const redis = new Redis(inject('redisUrl'))
  let app: App
  let client: MvadClient
  const test = readCsvRows(join(OMI, 'test.csv'))
  const train = readCsvRows(join(OMI, 'train.csv'))

  beforeAll(async () => {
    ;({ app, client } = await startRestApp(prefix, work, {
      MVAD_REST_BODY_LIMIT_BYTES: String(1024 * 1024),
      MVAD_REST_LOCAL_ROOTS: OMI, // the bench files the requests name by path
    }))
  }, 120_000)

  afterAll(async () => {
    await app?.stop('test done')
    const stale = await redis.keys(`${prefix}*`)
    if (stale.length > 0) await redis.del(...stale)
    await redis.quit()
  })

  it('train → READY → list → detect-batch → detect-last → delete, results equal to the offline CLI', async () => {
    const trained = await client.path('/multivariate/models').post({
      body: {
        dataSource: join(OMI, 'train.csv'),
        dataSchema: 'OneTable',
        startTime: train.rows[0]?.[0] ?? '',
        endTime: train.rows.at(-1)?.[0] ?? '',
        slidingWindow: WINDOW,
        displayName: 'omi-1',
        alignPolicy: { alignMode: 'Outer', fillNAMethod: 'Linear', paddingValue: 0 },
      },
    })
    if (isUnexpected(trained)) throw new Error(JSON.stringify(trained.body))
    expect(trained.status).toBe('201')
    const modelId = trained.body.modelId
    expect(modelId).toMatch(/^[0-9a-f-]{36}$/)
    expect(trained.headers.location).toBe(`${app.url()}/anomalydetector/v1.1/multivariate/models/${modelId}`)
    expect(trained.body.modelInfo).toMatchObject({ status: 'CREATED', slidingWindow: WINDOW, displayName: 'omi-1' })

    let model: AnomalyDetectionModelOutput | undefined
    for (const deadline = Date.now() + 90_000; Date.now() < deadline; await sleep(500)) {
      const got = await client.path('/multivariate/models/{modelId}', modelId).get()
      if (isUnexpected(got)) throw new Error(JSON.stringify(got.body))
      model = got.body
      if (got.body.modelInfo?.status === 'READY' || got.body.modelInfo?.status === 'FAILED') break
    }
    expect(model?.modelInfo?.status).toBe('READY')
    expect(model?.modelInfo?.dataSource).toBe(join(OMI, 'train.csv'))
    expect(model?.modelInfo?.diagnosticsInfo?.variableStates).toHaveLength(19)

    const firstPage = await client.path('/multivariate/models').get({ queryParameters: { skip: 0, top: 10 } })
    const listed: string[] = []
    for await (const item of paginate(client, firstPage))
      listed.push((item as unknown as AnomalyDetectionModelOutput).modelId)
    expect(listed).toContain(modelId)

    // detect-batch over 300 rows of the test file (the rows before them are history), via a file:// URL.
    const from = 100
    const to = 399
    const batch = await client.path('/multivariate/models/{modelId}:detect-batch', modelId).post({
      body: {
        dataSource: pathToFileURL(join(OMI, 'test.csv')).href,
        startTime: test.rows[from]?.[0] ?? '',
        endTime: test.rows[to]?.[0] ?? '',
        topContributorCount: 5,
      },
    })
    if (isUnexpected(batch)) throw new Error(JSON.stringify(batch.body))
    expect(batch.status).toBe('202')
    const resultId = batch.body.resultId
    expect(batch.headers['operation-location']).toMatch(new RegExp(`/multivariate/detect-batch/${resultId}$`))
    let result: MultivariateDetectionResultOutput | undefined
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(300)) {
      const got = await client.path('/multivariate/detect-batch/{resultId}', resultId).get()
      if (isUnexpected(got)) throw new Error(JSON.stringify(got.body))
      result = got.body
      if (got.body.summary.status === 'READY' || got.body.summary.status === 'FAILED') break
    }
    expect(result?.summary).toMatchObject({
      status: 'READY',
      errors: [],
      setupInfo: { topContributorCount: 5, dataSource: pathToFileURL(join(OMI, 'test.csv')).href }, // as sent
    })
    expect(result?.results).toHaveLength(to - from + 1)

    // The offline CLI with the stored model file on the same file gives the same rows.
    const stored = await new RedisModelStore(redis, keySpace(prefix)).getReadyState(modelId)
    const modelFile = join(work, 'model.json')
    writeFileSync(modelFile, stored?.stateJson ?? '')
    const out = join(work, 'offline.jsonl')
    await run(process.execPath, [
      CLI,
      'detect',
      '--model',
      modelFile,
      '--input',
      join(OMI, 'test.csv'),
      '--out',
      out,
      '--top-contributors',
      '5',
    ])
    const offline = new Map(
      readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as OfflineRow)
        .map((row) => [row.timestamp, row]),
    )
    for (const row of result?.results ?? []) expect(row.value).toEqual(offline.get(row.timestamp)?.value)

    // detect-last on exactly one window of rows ending at row 200: the CLI's result for row 200.
    const end = 200
    const rows = test.rows.slice(end - WINDOW + 1, end + 1)
    const last = await client.path('/multivariate/models/{modelId}:detect-last', modelId).post({
      body: {
        variables: test.header.slice(1).map((variable, j) => ({
          variable,
          timestamps: rows.map((r) => r[0] ?? ''),
          values: rows.map((r) => Number(r[j + 1])),
        })),
        topContributorCount: 5,
      },
    })
    if (isUnexpected(last)) throw new Error(JSON.stringify(last.body))
    expect(last.body.results).toHaveLength(1)
    expect(last.body.results?.[0]?.timestamp).toBe(test.rows[end]?.[0])
    expect(last.body.results?.[0]?.value).toEqual(offline.get(test.rows[end]?.[0] ?? '')?.value)

    const deleted = await client.path('/multivariate/models/{modelId}', modelId).delete()
    expect(deleted.status).toBe('204')
    const gone = await client.path('/multivariate/models/{modelId}', modelId).get()
    expect(gone.status).toBe('404')
    expect(gone.body).toMatchObject({ code: 'ModelNotExist' })
  }, 180_000)

  it('answers bad requests with MVAD status codes and error codes, never a 5xx', async () => {
    const base = `${app.url()}/anomalydetector/v1.1`
    const call = async (
      path: string,
      init: { method?: string; body?: string; key?: string | null } = {},
    ): Promise<{ status: number; code: string; header: string | null }> => {
      const headers: Record<string, string> = { 'content-type': 'application/json' }
      if (init.key !== null) headers['Ocp-Apim-Subscription-Key'] = init.key ?? KEY
      const response = await fetch(`${base}${path}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers,
        ...(init.body === undefined ? {} : { body: init.body }),
      })
      const body = (await response.json()) as { code?: string }
      return { status: response.status, code: body.code ?? '', header: response.headers.get('x-ms-error-code') }
    }
    const trainBody = (over: object): string =>
      JSON.stringify({
        dataSource: join(OMI, 'train.csv'),
        startTime: '2024-01-01T00:00:00Z',
        endTime: '2024-01-02T00:00:00Z',
        ...over,
      })
    const unknown = '00000000-0000-4000-8000-000000000000'
    const cases: [string, Promise<{ status: number; code: string; header: string | null }>, number, string][] = [
      ['unknown model', call(`/multivariate/models/${unknown}`), 404, 'ModelNotExist'],
      ['unknown result', call(`/multivariate/detect-batch/${unknown}`), 404, 'ResultNotExist'],
      [
        'detect-batch on an unknown model',
        call(`/multivariate/models/${unknown}:detect-batch`, {
          body: JSON.stringify({
            dataSource: 'x.csv',
            startTime: '2024-01-01T00:00:00Z',
            endTime: '2024-01-01T01:00:00Z',
          }),
        }),
        404,
        'ModelNotExist',
      ],
      [
        'bad window',
        call('/multivariate/models', { body: trainBody({ slidingWindow: 5 }) }),
        400,
        'InvalidSlidingWindow',
      ],
      [
        'bad align mode',
        call('/multivariate/models', { body: trainBody({ alignPolicy: { alignMode: 'Middle' } }) }),
        400,
        'InvalidAlignMode',
      ],
      [
        'bad timestamp',
        call('/multivariate/models', { body: trainBody({ startTime: 'yesterday' }) }),
        400,
        'InvalidTimestampFormat',
      ],
      [
        'missing dataSource',
        call('/multivariate/models', { body: trainBody({ dataSource: undefined }) }),
        400,
        'RequiredSource',
      ],
      ['malformed body', call('/multivariate/models', { body: '{"dataSource": ' }), 400, 'InvalidJsonFormat'],
      [
        'oversize payload',
        call('/multivariate/models', { body: trainBody({ displayName: 'x'.repeat(1_200_000) }) }),
        413,
        'InvalidFileSize',
      ],
      ['bad skip', call('/multivariate/models?skip=-1'), 400, 'InvalidRequestParameterError'],
      ['wrong key', call('/multivariate/models', { key: 'not-the-key' }), 401, 'Unauthorized'],
      ['no key', call('/multivariate/models', { key: null }), 401, 'Unauthorized'],
      [
        'unsupported data URL',
        call('/multivariate/models', { body: trainBody({ dataSource: 'ftp://host/x.csv' }) }),
        400,
        'InvalidRequestParameterError',
      ],
    ]
    for (const [name, pending, status, code] of cases) {
      const answer = await pending
      expect({ name, status: answer.status, code: answer.code, header: answer.header }).toEqual({
        name,
        status,
        code,
        header: code,
      })
    }
    // The preview API (older SDK) is refused with a message naming the GA API.
    const preview = await fetch(`${app.url()}/anomalydetector/v1.1-preview.1/multivariate/models`, {
      headers: { 'Ocp-Apim-Subscription-Key': KEY },
    })
    expect(preview.status).toBe(404)
    expect(await preview.json()).toMatchObject({ code: 'ApiVersionNotSupported' })
    // The OpenAPI document is served.
    const openapi = (await (await fetch(`${app.url()}/openapi.json`)).json()) as { paths: Record<string, unknown> }
    expect(Object.keys(openapi.paths)).toContain('/multivariate/models/{modelId}:detect-last')
    // Each answer is counted under its route's pattern, not its path (one series per route, not per model id).
    const metrics = await (await fetch(`${app.url()}/metrics`)).text()
    expect(metrics).toMatch(
      /mvad_http_requests_total\{method="GET",route="\/anomalydetector\/v1\.1\/multivariate\/models\/:modelId",status_code="404",service="[^"]+"\} [1-9]/,
    )
    expect(metrics).toMatch(/mvad_http_requests_total\{method="POST",route="[^"]*",status_code="413"/)
    expect(metrics).not.toContain(unknown)
  }, 60_000)
})
