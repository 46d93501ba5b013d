import Fastify, { type FastifyInstance } from 'fastify'
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { strToU8, zipSync } from 'fflate'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RestAdmission } from '../../../../src/http/mvad/admission.js'
import { MODEL_FILE_FORMAT, modelFileProvenance } from '../../../../src/cli/model-file.js'
import {
  MVAD_BASE,
  MVAD_SERVER_OPTIONS,
  registerMvadApi,
  registerMvadApiElsewhere,
  restDataIdOf,
} from '../../../../src/http/mvad/routes.js'
import { ServiceError } from '../../../../src/errors.js'
import { MemoryBindingStore } from '../../../../src/state/binding-store.js'
import { MemoryJobStore, newJobRecord, type JobRecord } from '../../../../src/state/job-store.js'
import { MemoryModelStore } from '../../../../src/state/model-store.js'
import { MemoryResultStore } from '../../../../src/state/result-store.js'

/** No API key; local paths and private hosts refused (the defaults). */
const CLOSED_DATA = {
  apiKey: undefined,
  resultTtlSeconds: 12 * 3600,
  dataSource: {
    dataDir: '/tmp/none',
    fetchMaxBytes: 1024,
    fetchTimeoutMs: 1000,
    localRoots: [],
    fetchPrivateHosts: false,
  },
}

/** The MVAD routes on in-memory stores (no job runner: commands are only recorded). */
describe('MVAD routes', () => {
  const jobs = new MemoryJobStore()
  const results = new MemoryResultStore()
  const models = new MemoryModelStore()
  const submitted: unknown[] = []
  let app: FastifyInstance
  const batchCommand = (resultId: string): Record<string, unknown> => ({
    type: 'detect-batch',
    jobId: resultId,
    modelId: 'm',
    source: { kind: 'file', path: '/data/x.csv' },
    startTime: '2024-01-01T00:00:00Z',
    endTime: '2024-01-01T01:00:00Z',
    topContributorCount: 10,
    output: { store: true },
  })

  beforeAll(async () => {
    app = Fastify(MVAD_SERVER_OPTIONS)
    registerMvadApi(app, {
      models,
      results,
      jobs,
      bindings: new MemoryBindingStore(),
      submit: (command) => {
        submitted.push(command)
        return Promise.resolve()
      },
      ...CLOSED_DATA,
    })
    await app.ready()
  })
  afterAll(() => app.close())

  it('answers 404 ResultNotExist for a finished batch job whose result has expired (not CREATED for ever)', async () => {
    const id = '11111111-1111-4111-8111-111111111111'
    await jobs.create(id, 'detect-batch', batchCommand(id), new Date())
    const pending = await app.inject({ method: 'GET', url: `${MVAD_BASE}/multivariate/detect-batch/${id}` })
    expect(pending.statusCode).toBe(200)
    expect(pending.json()).toMatchObject({ summary: { status: 'CREATED' } })
    await jobs.update(id, { status: 'RUNNING' }, new Date())
    const running = await app.inject({ method: 'GET', url: `${MVAD_BASE}/multivariate/detect-batch/${id}` })
    expect(running.json()).toMatchObject({ summary: { status: 'RUNNING' } }) // before the job stores its first record
    await jobs.update(id, { status: 'READY' }, new Date())
    const expired = await app.inject({ method: 'GET', url: `${MVAD_BASE}/multivariate/detect-batch/${id}` })
    expect(expired.statusCode).toBe(404)
    expect(expired.headers['x-ms-error-code']).toBe('ResultNotExist')
    expect(expired.json()).toMatchObject({
      code: 'ResultNotExist',
      message: `The result does not exist. (${id}; results are kept 12 hours)`,
    })
  })

  it('reports FAILED for a stored result left RUNNING by a job that failed (its instance died)', async () => {
    const id = '22222222-2222-4222-8222-222222222222'
    await jobs.create(id, 'detect-batch', batchCommand(id), new Date())
    await results.put(
      {
        resultId: id,
        summary: {
          status: 'RUNNING',
          errors: [],
          variableStates: [],
          setupInfo: { dataSource: '/data/x.csv', topContributorCount: 10, startTime: 'a', endTime: 'b' },
        },
        results: [],
        modelId: 'm',
        modelVersion: 1,
      },
      600,
    )
    await jobs.update(id, { status: 'RUNNING' }, new Date())
    await jobs.update(
      id,
      { status: 'FAILED', errors: [{ code: 'JobInterrupted', message: 'its instance stopped' }] },
      new Date(),
    )
    const reply = await app.inject({ method: 'GET', url: `${MVAD_BASE}/multivariate/detect-batch/${id}` })
    expect(reply.json()).toMatchObject({
      summary: { status: 'FAILED', errors: [{ code: 'JobInterrupted', message: 'its instance stopped' }] },
    })
  })

  it('refuses a local dataSource when no local root is configured, before anything is queued', async () => {
    const before = submitted.length
    for (const dataSource of ['/etc/passwd', 'file:///proc/self/environ', '../../../../etc/hostname']) {
      const reply = await app.inject({
        method: 'POST',
        url: `${MVAD_BASE}/multivariate/models`,
        payload: { dataSource, startTime: '2024-01-01T00:00:00Z', endTime: '2024-01-02T00:00:00Z' },
      })
      expect(reply.statusCode).toBe(400)
      expect(reply.headers['x-ms-error-code']).toBe('InvalidRequestParameterError')
      expect(reply.body).not.toContain('root:')
    }
    expect(submitted.length).toBe(before)
  })

  it('treats a model whose training is queued as not READY: 400 ModelNotReady, listed, deleted by cancelling', async () => {
    const modelId = '33333333-3333-4333-8333-333333333333'
    const command = {
      type: 'train',
      jobId: `rest-train-${modelId}`,
      modelId,
      source: { kind: 'file', path: '/data/train.csv' },
      dataSource: 'https://example.com/train.csv',
      dataSchema: 'MultiTable',
      startTime: '2024-01-01T00:00:00Z',
      endTime: '2024-01-02T00:00:00Z',
      slidingWindow: 28,
    }
    await jobs.create(command.jobId, 'train', command, new Date())
    const model = await app.inject({ method: 'GET', url: `${MVAD_BASE}/multivariate/models/${modelId}` })
    expect(model.json()).toMatchObject({ modelInfo: { status: 'CREATED', dataSchema: 'MultiTable' } })
    const last = await app.inject({
      method: 'POST',
      url: `${MVAD_BASE}/multivariate/models/${modelId}:detect-last`,
      payload: { variables: [{ variable: 'a', timestamps: ['2024-01-03T00:00:00Z'], values: [1] }] },
    })
    expect(last.statusCode).toBe(400)
    expect(last.headers['x-ms-error-code']).toBe('ModelNotReady')
    const list = await app.inject({ method: 'GET', url: `${MVAD_BASE}/multivariate/models?top=100` })
    expect(list.json<{ models: { modelId: string }[] }>().models.map((m) => m.modelId)).toContain(modelId)
    const before = submitted.length
    const deleted = await app.inject({ method: 'DELETE', url: `${MVAD_BASE}/multivariate/models/${modelId}` })
    expect(deleted.statusCode).toBe(204)
    expect(submitted.slice(before)).toMatchObject([{ type: 'cancel', targetJobId: command.jobId }])
    // Once the cancel is done the model is gone everywhere: GET, DELETE and the list agree (it never appears).
    await jobs.update(
      command.jobId,
      { status: 'FAILED', errors: [{ code: 'JobCanceled', message: 'canceled' }] },
      new Date(),
    )
    const gone = await app.inject({ method: 'GET', url: `${MVAD_BASE}/multivariate/models/${modelId}` })
    expect([gone.statusCode, gone.headers['x-ms-error-code']]).toEqual([404, 'ModelNotExist'])
    const again = await app.inject({ method: 'DELETE', url: `${MVAD_BASE}/multivariate/models/${modelId}` })
    expect(again.statusCode).toBe(404)
  })

  it('answers 409 ModelInUse to a DELETE while a deploy of the model is under way on another instance', async () => {
    const info = await models.registerReady('88888888-8888-4888-8888-888888888888', '{}', {
      variables: ['a'],
      slidingWindow: 28,
    })
    const url = `${MVAD_BASE}/multivariate/models/${info.modelId}`
    const bind = (await models.claim(info.modelId, 'bind', 60_000)) ?? ''
    const refused = await app.inject({ method: 'DELETE', url })
    expect([refused.statusCode, refused.headers['x-ms-error-code']]).toEqual([409, 'ModelInUse'])
    expect(refused.json<{ message: string }>().message).toContain('being deployed by another request')
    await models.releaseClaim(info.modelId, 'bind', bind)
    expect((await app.inject({ method: 'DELETE', url })).statusCode).toBe(204)
  })

  it('takes bodies as sent: no null-to-0 or "60"-to-60; a wrong type gets the field\'s own MVAD code', async () => {
    const post = async (path: string, payload: unknown): Promise<[number, unknown, string]> => {
      const reply = await app.inject({
        method: 'POST',
        url: `${MVAD_BASE}/multivariate/${path}`,
        payload: payload as object,
      })
      return [reply.statusCode, reply.headers['x-ms-error-code'], reply.json<{ message: string }>().message]
    }
    const id = '44444444-4444-4444-8444-444444444444'
    const values = (v: unknown[]) => ({
      variables: [{ variable: 'a', timestamps: v.map(() => '2024-01-01T00:00:00Z'), values: v }],
    })
    expect(await post(`models/${id}:detect-last`, values([1, null]))).toEqual([
      400,
      'VariableParseError',
      'body/variables/0/values/1 must be number (values must be finite numbers: null, NaN or text are not)',
    ])
    expect((await post(`models/${id}:detect-last`, values([true])))[1]).toBe('VariableParseError')
    const train = { dataSource: '/x.csv', startTime: '2024-01-01T00:00:00Z', endTime: '2024-01-02T00:00:00Z' }
    for (const slidingWindow of ['60', 60.5, null]) {
      expect((await post('models', { ...train, slidingWindow }))[1]).toBe('InvalidSlidingWindow')
    }
    expect((await post('models', { ...train, dataSource: 123 }))[1]).toBe('InvalidRequestParameterError')
    const batch = { ...train, topContributorCount: null }
    expect((await post(`models/${id}:detect-batch`, batch))[1]).toBe('InvalidTopContributorCount')
  })

  it('refuses an endTime before startTime on the request, before anything is queued', async () => {
    const before = submitted.length
    const reply = await app.inject({
      method: 'POST',
      url: `${MVAD_BASE}/multivariate/models`,
      payload: { dataSource: '/x.csv', startTime: '2024-01-02T00:00:00Z', endTime: '2024-01-01T00:00:00Z' },
    })
    expect([reply.statusCode, reply.headers['x-ms-error-code']]).toEqual([400, 'InvalidRequestParameterError'])
    expect(reply.json<{ message: string }>().message).toMatch(/endTime .* must not be before startTime/)
    expect(submitted.length).toBe(before)
  })

  it('ignores a JSON Content-Type on body-less DELETE and GET, answers 415 to text/plain, 404 to a long id', async () => {
    const id = '55555555-5555-4555-8555-555555555555'
    const headers = { 'content-type': 'application/json' }
    const del = await app.inject({ method: 'DELETE', url: `${MVAD_BASE}/multivariate/models/${id}`, headers })
    expect([del.statusCode, del.headers['x-ms-error-code']]).toEqual([404, 'ModelNotExist']) // not 400 InvalidJsonFormat
    const get = await app.inject({ method: 'GET', url: `${MVAD_BASE}/multivariate/models/${id}`, headers })
    expect(get.statusCode).toBe(404)
    const text = await app.inject({
      method: 'POST',
      url: `${MVAD_BASE}/multivariate/models`,
      headers: { 'content-type': 'text/plain' },
      payload: '{"dataSource":"/x.csv"}',
    })
    expect([text.statusCode, text.headers['x-ms-error-code']]).toEqual([415, 'InvalidRequestParameterError'])
    const long = await app.inject({ method: 'GET', url: `${MVAD_BASE}/multivariate/models/${'a'.repeat(500)}` })
    expect([long.statusCode, long.headers['x-ms-error-code']]).toEqual([404, 'ModelNotExist'])
  })

  it('writes record times in whole seconds, as MVAD does', async () => {
    const info = await models.registerReady('m2', '{}', { variables: ['a'], slidingWindow: 28 })
    const reply = await app.inject({ method: 'GET', url: `${MVAD_BASE}/multivariate/models/${info.modelId}` })
    const body = reply.json<{ createdTime: string; lastUpdatedTime: string }>()
    expect(body.createdTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(body.lastUpdatedTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  })

  it('states the training period of a model trained or uploaded without one, from its variables (MVAD requires it)', async () => {
    const variableStates = [
      { variable: 'a', firstTimestamp: '2024-01-01T00:05:00Z', lastTimestamp: '2024-01-02T00:00:00Z' },
      { variable: 'b', firstTimestamp: '2024-01-01T00:00:00Z', lastTimestamp: '2024-01-01T23:00:00Z' },
    ]
    const info = await models.registerReady('m-period', '{}', {
      variables: ['a', 'b'],
      slidingWindow: 28,
      ...modelFileProvenance({
        format: MODEL_FILE_FORMAT,
        modelInfo: { source: '/data/train.csv', alignPolicy: { alignMode: 'Inner' }, variableStates },
      }),
    })
    const reply = await app.inject({ method: 'GET', url: `${MVAD_BASE}/multivariate/models/${info.modelId}` })
    expect(reply.json<{ modelInfo: unknown }>().modelInfo).toMatchObject({
      dataSource: '/data/train.csv',
      startTime: '2024-01-01T00:00:00Z',
      endTime: '2024-01-02T00:00:00Z',
      alignPolicy: { alignMode: 'Inner' },
      diagnosticsInfo: { variableStates },
    })
  })

  it('writes links with the address the client used when the proxy is trusted (X-Forwarded-Proto/-Host/-Prefix)', async () => {
    const store = new MemoryModelStore()
    await store.registerReady('a', '{}', { variables: ['a'], slidingWindow: 28 })
    await store.registerReady('b', '{}', { variables: ['a'], slidingWindow: 28 })
    const proxied = Fastify({ trustProxy: true })
    registerMvadApi(proxied, {
      models: store,
      results,
      jobs: new MemoryJobStore(),
      bindings: new MemoryBindingStore(),
      submit: () => Promise.resolve(),
      ...CLOSED_DATA,
      trustProxy: true,
    })
    await proxied.ready()
    try {
      const forwarded = { host: 'internal:8080', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'ad.example.com' }
      const nextLink = async (target: typeof app, headers: Record<string, string>): Promise<string> =>
        (await target.inject({ method: 'GET', url: `${MVAD_BASE}/multivariate/models?top=1`, headers })).json<{
          nextLink: string
        }>().nextLink
      expect(await nextLink(proxied, forwarded)).toBe(
        `https://ad.example.com${MVAD_BASE}/multivariate/models?skip=1&top=1`,
      )
      // A gateway that mounts the service under a path says so in X-Forwarded-Prefix; only a plain path is taken.
      for (const [prefix, expected] of [
        ['/anomaly', '/anomaly'],
        ['/eu/ad/', '/eu/ad'],
        ['/', ''],
        ['/from-client, /gateway', '/gateway'], // the value the nearest proxy appended
        ['//evil.example', ''],
        ['https://evil.example', ''],
        ['/a b', ''],
      ]) {
        expect(await nextLink(proxied, { ...forwarded, 'x-forwarded-prefix': prefix as string }), prefix).toBe(
          `https://ad.example.com${expected as string}${MVAD_BASE}/multivariate/models?skip=1&top=1`,
        )
      }
      await models.registerReady('m3', '{}', { variables: ['a'], slidingWindow: 28 }) // two at least: a next page
      const direct = await nextLink(app, { ...forwarded, 'x-forwarded-prefix': '/anomaly' })
      expect(direct).toMatch(/^http:\/\/internal:8080\/anomalydetector\//) // not trusted: no host, no prefix
    } finally {
      await proxied.close()
    }
  })

  it('removes the files it fetched or unpacked for a request whose job could not be queued', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mvad-routes-'))
    const dataDir = join(root, 'data')
    writeFileSync(join(root, 'train.zip'), zipSync({ 'a.csv': strToU8('timestamp,value\n'), 'b.csv': strToU8('x') }))
    const failing = Fastify(MVAD_SERVER_OPTIONS)
    registerMvadApi(failing, {
      models: new MemoryModelStore(),
      results,
      jobs: new MemoryJobStore(),
      bindings: new MemoryBindingStore(),
      submit: () => Promise.reject(new ServiceError('KafkaError', 'control topic unreachable', { retriable: true })),
      apiKey: undefined,
      dataSource: { ...CLOSED_DATA.dataSource, dataDir, localRoots: [root] },
    })
    await failing.ready()
    try {
      const reply = await failing.inject({
        method: 'POST',
        url: `${MVAD_BASE}/multivariate/models`,
        payload: {
          dataSource: join(root, 'train.zip'),
          dataSchema: 'MultiTable',
          startTime: '2024-01-01T00:00:00Z',
          endTime: '2024-01-02T00:00:00Z',
        },
      })
      expect([reply.statusCode, reply.json<{ code: string }>().code]).toEqual([503, 'KafkaError'])
      expect(readdirSync(dataDir)).toEqual([]) // the zip was unpacked under the model id, and removed again
    } finally {
      await failing.close()
    }
  })

  it('answers MVAD paths with an MVAD error on an instance without the control plane (no API there)', async () => {
    const elsewhere = Fastify()
    registerMvadApiElsewhere(elsewhere)
    await elsewhere.ready()
    try {
      const reply = await elsewhere.inject({ method: 'POST', url: `${MVAD_BASE}/multivariate/models`, payload: {} })
      expect(reply.statusCode).toBe(404)
      expect(reply.headers['x-ms-error-code']).toBe('NotFound')
      expect(reply.json<{ code: string; message: string }>()).toMatchObject({ code: 'NotFound' })
      expect(reply.json<{ message: string }>().message).toMatch(/MVAD_CONTROL_ENABLED=false/)
    } finally {
      await elsewhere.close()
    }
  })

  it('names the download folder of an ended REST job: the model for training, the result for a batch', () => {
    const record = (jobId: string, type: string): JobRecord => newJobRecord(jobId, type, {}, new Date())
    expect(restDataIdOf(record('rest-train-m1', 'train'))).toBe('m1')
    expect(restDataIdOf(record('r1', 'detect-batch'))).toBe('r1')
    expect(restDataIdOf(record('topic-train', 'train'))).toBeUndefined() // a control-topic job downloads nothing
  })
})

describe('MVAD routes under load: what one instance takes on at once', () => {
  it('answers 429 TooManyRequests with Retry-After to a detect-last over the bodies in flight, before reading it', async () => {
    const admission = new RestAdmission({ bodyBytesInFlight: 1500, bodyLimitBytes: 1024 * 1024, heldDownloads: 1 })
    const app = Fastify(MVAD_SERVER_OPTIONS)
    registerMvadApi(app, {
      models: new MemoryModelStore(),
      results: new MemoryResultStore(),
      jobs: new MemoryJobStore(),
      bindings: new MemoryBindingStore(),
      submit: () => Promise.resolve(),
      ...CLOSED_DATA,
      admission,
    })
    await app.ready()
    try {
      const url = `${MVAD_BASE}/multivariate/models/55555555-5555-4555-8555-555555555555:detect-last`
      const body = JSON.stringify({ variables: [{ variable: 'a', timestamps: ['2024-01-01T00:00:00Z'], values: [1] }] })
      const padded = body.padEnd(1000, ' ')
      const headers = { 'content-type': 'application/json', 'content-length': String(padded.length) }
      // A first request whose body is still arriving holds 1,000 of the 1,500 bytes.
      const slowBody = new PassThrough()
      const first = app.inject({ method: 'POST', url, headers, payload: slowBody })
      await new Promise((resolve) => setTimeout(resolve, 50))
      const refused = await app.inject({ method: 'POST', url, headers, payload: padded })
      expect([refused.statusCode, refused.headers['x-ms-error-code'], refused.headers['retry-after']]).toEqual([
        429,
        'TooManyRequests',
        '1',
      ])
      expect(refused.json<{ message: string }>().message).toContain('MVAD_REST_BODY_BYTES_IN_FLIGHT 1500')
      slowBody.end(padded)
      expect((await first).headers['x-ms-error-code']).toBe('ModelNotExist') // it went through
      // Its bytes are free again.
      const after = await app.inject({ method: 'POST', url, headers, payload: padded })
      expect(after.headers['x-ms-error-code']).toBe('ModelNotExist')

      // The instance already holds one request's data for its job: the next request answers 429 before fetching.
      admission.reserveHeld('earlier-job')
      admission.answered('earlier-job')
      const trainOn = (dataSource: string) =>
        app.inject({
          method: 'POST',
          url: `${MVAD_BASE}/multivariate/models`,
          payload: { dataSource, startTime: '2024-01-01T00:00:00Z', endTime: '2024-01-02T00:00:00Z' },
        })
      const full = await trainOn('https://example.com/train.csv')
      expect([full.statusCode, full.headers['x-ms-error-code']]).toEqual([429, 'TooManyRequests'])
      // Once that job ended, a request gets in; one that fails gives its room back.
      admission.releaseHeld('earlier-job')
      const failed = await trainOn('/data/train.csv') // local paths are refused here (no MVAD_REST_LOCAL_ROOTS)
      expect(failed.statusCode).toBe(400)
      expect(admission.heldCount).toBe(0)
    } finally {
      await app.close()
    }
  })
})
