/**
 * The MVAD v1.1 REST API (`/anomalydetector/v1.1`), served from the same stores and job runner as the control
 * topic: a train or detect-batch request becomes the same job a control command would (the same JobRunner, so
 * idempotence, leases and status events apply), models are the ModelStore's, results the ResultStore's. Ids are
 * UUIDs (MVAD's); a REST model is a model id whose latest version answers GET. Bodies are validated by the JSON
 * Schemas in schemas/json/mvad/; every error is MVAD's `{code, message}` with `x-ms-error-code` (errors.ts).
 */
import { randomUUID } from 'node:crypto'
import { isAbsolute, relative, resolve } from 'node:path'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ControlCommand, DetectBatchCommand, TrainCommand } from '../../control/commands.js'
import { resolveAlignPolicy } from '../../data/align.js'
import { MVAD_LIMITS } from '../../data/limits.js'
import { ServiceError } from '../../errors.js'
import { resolveParams } from '../../model/index.js'
import { readSchemaText } from '../../schema-files.js'
import type { BindingStore } from '../../state/binding-store.js'
import type { JobRecord, JobStore } from '../../state/job-store.js'
import { deleteUnboundModel } from '../../state/model-deletion.js'
import type { ModelStore } from '../../state/model-store.js'
import type { ResultStore } from '../../state/result-store.js'
import { checkApiKey, sendMvadError, toMvadError } from './errors.js'
import {
  isHttpDataSource,
  removeDataSourceFiles,
  resolveDataSource,
  type DataSchema,
  type DataSourceLimits,
} from './data-source.js'
import { detectLast, type LastDetectionVariable } from './detect-last.js'
import type { ReadyModelCache } from './model-cache.js'
import { detectLastModel, pendingModel, restReadyModel, TRAIN_JOB_PREFIX, trainJobId } from './rest-models.js'
import { bodyAdmissionHooks, type RestAdmission } from './admission.js'
import { modelToWire, pendingModelToWire, pendingResultToWire, resultToWire } from './wire.js'
import { checkTimes, duration, nonNegativeInt, topContributors } from './request-values.js'

export const MVAD_BASE = '/anomalydetector/v1.1'

/** Fastify options the server hosting the API needs (the API's routes cannot set them for themselves). */
export const MVAD_SERVER_OPTIONS = Object.freeze({
  // Bodies are taken as sent: Fastify's default coerces types, so a JSON null (what JSON.stringify makes of NaN)
  // became 0 in detect-last's values and "60" a slidingWindow. No route validates a query string.
  ajv: { customOptions: { coerceTypes: false as const } },
  // Any id a URL can hold reaches the routes (a long one answers the API's 404, not Fastify's own 414 body).
  routerOptions: { maxParamLength: 16_384 },
})
const PREVIEW_BASES = ['/anomalydetector/v1.1-preview.1', '/anomalydetector/v1.1-preview']
/** Quota MVAD reported as `maxCount` (S0 tier). */
const MAX_MODELS = 1000

export interface MvadApiDeps {
  models: ModelStore
  results: ResultStore
  jobs: JobStore
  bindings: BindingStore
  /** Queues a job on the control plane's runner (idempotent by jobId). */
  submit(command: ControlCommand): Promise<unknown>
  /** When set, requests must carry it in `Ocp-Apim-Subscription-Key`. */
  apiKey: string | undefined
  dataSource: DataSourceLimits
  /** Behind a trusted proxy (MVAD_HTTP_TRUST_PROXY): links also carry the path prefix of X-Forwarded-Prefix. */
  trustProxy?: boolean
  /** What this instance takes on at once (detect-last bodies, data held for jobs); unlimited when absent. */
  admission?: RestAdmission
  /** How long detect-batch results are kept (MVAD_RESULT_TTL_SECONDS), said when one is asked for after it. */
  resultTtlSeconds?: number
  /** Parsed models kept for detect-last (MVAD_REST_MODEL_CACHE_BYTES); each request loads its model when absent. */
  modelCache?: ReadyModelCache
}

interface TrainBody {
  dataSource: string
  dataSchema?: 'OneTable' | 'MultiTable'
  startTime: string
  endTime: string
  displayName?: string
  slidingWindow?: number
  alignPolicy?: { alignMode?: string; fillNAMethod?: string; paddingValue?: number }
}

interface DetectBatchBody {
  dataSource: string
  topContributorCount?: number
  startTime: string
  endTime: string
}

interface DetectLastBody {
  variables: LastDetectionVariable[]
  topContributorCount?: number
}

type ModelParams = { Params: { modelId: string } }

/** The jobs a REST request's data kept under `dataId` can belong to (a train's model id, a batch's result id). */
export function restJobIdsOf(dataId: string): string[] {
  return [trainJobId(dataId), dataId]
}

/** The id a REST request's downloads are kept under, for a job that has ended (train: the model, batch: the result). */
export function restDataIdOf(record: JobRecord): string | undefined {
  if (record.type === 'train' && record.jobId.startsWith(TRAIN_JOB_PREFIX)) {
    return record.jobId.slice(TRAIN_JOB_PREFIX.length)
  }
  return record.type === 'detect-batch' ? record.jobId : undefined
}

// `{modelId}:detect-batch` is one path segment: the id is everything before the colon (a literal `::` in the route).

function schema(file: string): object {
  return JSON.parse(readSchemaText(`json/mvad/${file}`)) as object
}

/** Absolute URL of a path under the API base, for Location headers and nextLink. */
function absolute(request: FastifyRequest, path: string, deps: Pick<MvadApiDeps, 'trustProxy'>): string {
  // request.host and request.protocol follow X-Forwarded-Host/-Proto when the server trusts its proxy
  // (MVAD_HTTP_TRUST_PROXY), else the Host header and the socket. A gateway that mounts the service under a path
  // says so in X-Forwarded-Prefix; without it the SDK's paginate would follow a nextLink the gateway does not route.
  const prefix = deps.trustProxy === true ? forwardedPrefix(request.headers['x-forwarded-prefix']) : ''
  return `${request.protocol}://${request.host}${prefix}${MVAD_BASE}${path}`
}

/**
 * The X-Forwarded-Prefix path: its last value, the one the proxy nearest to us wrote (as Fastify reads
 * X-Forwarded-Host); "/" and anything but a plain absolute path give no prefix.
 */
export function forwardedPrefix(header: string | string[] | undefined): string {
  const value = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').pop()?.trim() ?? ''
  if (!/^(\/[A-Za-z0-9._~!$&'()*+;=:@%-]+)+\/?$/.test(value)) return ''
  return value.replace(/\/$/, '')
}

/**
 * On an instance without the control plane (MVAD_CONTROL_ENABLED=false) the API is not served: its paths answer with
 * an MVAD error saying where it is, not Fastify's own 404 body, which MVAD clients cannot read.
 */
export function registerMvadApiElsewhere(app: FastifyInstance): void {
  app.all('/anomalydetector/*', async (_request, reply) =>
    sendMvadError(
      reply,
      404,
      'NotFound',
      'this instance does not serve the MVAD API (MVAD_CONTROL_ENABLED=false): its jobs run on the control plane, ' +
        'so send MVAD requests to an instance that runs it',
    ),
  )
}

export function registerMvadApi(app: FastifyInstance, deps: MvadApiDeps): void {
  // Older SDK (v1.1-preview.1, @azure/ai-anomaly-detector 3.0.0-beta.x): refused with a message that says what to use.
  for (const base of PREVIEW_BASES) {
    app.all(`${base}/*`, async (_request, reply) =>
      sendMvadError(
        reply,
        404,
        'ApiVersionNotSupported',
        `mvad-stream serves the MVAD GA API at ${MVAD_BASE} (clients: @azure-rest/ai-anomaly-detector); ` +
          `${base.slice('/anomalydetector/'.length)} (@azure/ai-anomaly-detector 3.0.0-beta.x) is not supported`,
      ),
    )
  }

  void app.register(
    (api, _options, done) => {
      api.addHook('onRequest', async (request, reply) => {
        if (!checkApiKey(deps.apiKey, request.headers['ocp-apim-subscription-key'])) {
          return sendMvadError(
            reply,
            401,
            'Unauthorized',
            'Access denied due to missing or invalid subscription key (header Ocp-Apim-Subscription-Key).',
          )
        }
        return undefined
      })
      // A JSON Content-Type on a request without a body (DELETE, GET: clients often set one header on every call)
      // would make Fastify parse the empty body and refuse it.
      api.addHook('onRequest', (request, _reply, done) => {
        if (request.method === 'GET' || request.method === 'DELETE' || request.method === 'HEAD') {
          delete request.headers['content-type']
        }
        done()
      })
      // Bodies are JSON: text/plain gets the same 415 as every other type (Fastify would parse it as a string).
      api.removeContentTypeParser('text/plain')
      api.setErrorHandler(async (error, _request, reply) => {
        const { status, code, message } = toMvadError(error)
        return sendMvadError(reply, status, code, message)
      })
      api.setNotFoundHandler(async (request, reply) =>
        sendMvadError(reply, 404, 'NotFound', `no MVAD v1.1 operation ${request.method} ${request.url}`),
      )

      api.post<{ Body: TrainBody }>(
        '/multivariate/models',
        { schema: { body: schema('train-request.v1.1.json') } },
        async (request, reply) => train(deps, request, reply),
      )
      api.get<{ Querystring: Record<string, string | undefined> }>('/multivariate/models', async (request) =>
        listModels(deps, request),
      )
      api.get<ModelParams>('/multivariate/models/:modelId', async (request) => getModel(deps, request.params.modelId))
      api.delete<ModelParams>('/multivariate/models/:modelId', async (request, reply) => {
        await deleteModel(deps, request.params.modelId)
        return reply.code(204).send()
      })
      api.post<ModelParams & { Body: DetectBatchBody }>(
        '/multivariate/models/:modelId(^[^:]+)::detect-batch',
        { schema: { body: schema('detect-batch-request.v1.1.json') } },
        async (request, reply) => detectBatchRequest(deps, request, reply),
      )
      api.get<{ Params: { resultId: string } }>('/multivariate/detect-batch/:resultId', async (request) =>
        getResult(deps, request.params.resultId),
      )
      api.post<ModelParams & { Body: DetectLastBody }>(
        '/multivariate/models/:modelId(^[^:]+)::detect-last',
        {
          schema: { body: schema('detect-last-request.v1.1.json') },
          // The body is let in (before it is read) only while the bodies in flight fit the budget.
          ...(deps.admission === undefined ? {} : bodyAdmissionHooks(deps.admission)),
        },
        async (request) => {
          const model = await detectLastModel(deps, request.params.modelId)
          return detectLast(model, request.body.variables, topContributors(request.body.topContributorCount))
        },
      )
      done()
    },
    { prefix: MVAD_BASE },
  )
}

async function train(deps: MvadApiDeps, request: FastifyRequest<{ Body: TrainBody }>, reply: FastifyReply) {
  const body = request.body
  checkTimes(body)
  const slidingWindow = body.slidingWindow ?? MVAD_LIMITS.defaultSlidingWindow
  resolveParams({ slidingWindow }) // InvalidSlidingWindow now, not later in the job
  const alignPolicy = resolveAlignPolicy((body.alignPolicy ?? {}) as never) // InvalidAlignMode, RequiredPaddingValue, …
  const modelId = randomUUID()
  const command = await fetchAndSubmit(deps, body.dataSource, modelId, body.dataSchema, (path) => ({
    type: 'train',
    jobId: trainJobId(modelId),
    modelId,
    ...(body.displayName === undefined ? {} : { displayName: body.displayName }),
    source: { kind: 'file', path },
    dataSource: body.dataSource,
    ...(body.dataSchema === undefined ? {} : { dataSchema: body.dataSchema }),
    startTime: body.startTime,
    endTime: body.endTime,
    slidingWindow,
    alignPolicy,
  }))
  const job = await deps.jobs.get(command.jobId)
  const info = await deps.models.getInfo(modelId)
  const created =
    info === undefined ? pendingModelToWire(command, job?.createdTime ?? new Date().toISOString()) : modelToWire(info)
  ;(created.modelInfo as Record<string, unknown>).dataSchema = body.dataSchema ?? 'OneTable'
  return reply
    .code(201)
    .header('location', absolute(request, `/multivariate/models/${modelId}`, deps))
    .send(created)
}

async function getModel(deps: MvadApiDeps, modelId: string): Promise<Record<string, unknown>> {
  const info = await deps.models.getInfo(modelId)
  if (info !== undefined) return modelToWire(info)
  const pending = await pendingModel(deps, modelId)
  if (pending !== undefined) return pending
  throw new ServiceError('ModelNotExist', `The model does not exist. (${modelId})`)
}

async function listModels(
  deps: MvadApiDeps,
  request: FastifyRequest<{ Querystring: Record<string, string | undefined> }>,
) {
  const query = request.query
  const skip = nonNegativeInt(query.skip ?? query.$skip, 'skip', 0)
  const top = Math.min(nonNegativeInt(query.top ?? query.$top, 'top', 10), MAX_MODELS)
  const ids = await deps.models.listModelIds()
  const infos = (await Promise.all(ids.map((id) => deps.models.getInfo(id)))).filter((i) => i !== undefined)
  const stored = new Set(infos.map((info) => info.modelId))
  // Models whose training is still queued (no version yet) are listed too, CREATED, as GET shows them.
  const queued = (await deps.jobs.list({ status: 'CREATED', limit: 1000 }))
    .filter((job) => job.type === 'train' && job.jobId.startsWith(TRAIN_JOB_PREFIX))
    .map((job) => job.command as TrainCommand)
    .filter((command) => !stored.has(command.modelId))
  const all = [
    ...infos.map((info) => ({ time: info.lastUpdatedTime, wire: () => modelToWire(info) })),
    ...(await Promise.all(queued.map((command) => pendingModel(deps, command.modelId))))
      .filter((wire) => wire !== undefined)
      .map((wire) => ({ time: String(wire.lastUpdatedTime), wire: () => wire })),
  ]
  // Newest-updated first, as MVAD listed them.
  all.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0))
  const page = all.slice(skip, skip + top).map((entry) => entry.wire())
  const more = skip + top < all.length && top > 0
  return {
    models: page,
    currentCount: all.length,
    maxCount: MAX_MODELS,
    // Never null: the GA SDK's paginate throws on null; "" ends paging as the real service did.
    nextLink: more ? absolute(request, `/multivariate/models?skip=${skip + top}&top=${top}`, deps) : '',
  }
}

async function deleteModel(deps: MvadApiDeps, modelId: string): Promise<void> {
  if (await deleteUnboundModel(deps.models, deps.bindings, modelId)) return
  // A model whose training is still queued: deleting it cancels the training, so it never appears.
  const job = await deps.jobs.get(trainJobId(modelId))
  if (job !== undefined && job.type === 'train' && (job.status === 'CREATED' || job.status === 'RUNNING')) {
    await deps.submit({ type: 'cancel', jobId: randomUUID(), targetJobId: job.jobId })
    return
  }
  throw new ServiceError('ModelNotExist', `The model does not exist. (${modelId})`)
}

async function detectBatchRequest(
  deps: MvadApiDeps,
  request: FastifyRequest<ModelParams & { Body: DetectBatchBody }>,
  reply: FastifyReply,
) {
  const { modelId } = request.params
  const body = request.body
  const ready = await restReadyModel(deps, modelId) // ModelNotExist 404, ModelNotReady / ModelFailed 400, as MVAD
  checkTimes(body)
  const topContributorCount = topContributors(body.topContributorCount)
  const resultId = randomUUID()
  // The data has the layout the model was trained from (MVAD's detect request carries no dataSchema).
  const dataSchema = await trainedDataSchema(deps, modelId, ready.version)
  const command = await fetchAndSubmit(deps, body.dataSource, resultId, dataSchema, (path) => ({
    type: 'detect-batch',
    jobId: resultId,
    modelId,
    source: { kind: 'file', path },
    dataSource: body.dataSource,
    startTime: body.startTime,
    endTime: body.endTime,
    topContributorCount,
    output: { store: true },
  }))
  return reply
    .code(202)
    .header('operation-id', resultId)
    .header('operation-location', absolute(request, `/multivariate/detect-batch/${resultId}`, deps))
    .send(pendingResultToWire(command))
}

/**
 * Resolves a request's dataSource (an http(s) one is downloaded under `id`, after the admission found room for it:
 * 429 before anything is fetched otherwise) and queues the job made for the resulting path.
 */
async function fetchAndSubmit<C extends TrainCommand | DetectBatchCommand>(
  deps: MvadApiDeps,
  dataSource: string,
  id: string,
  dataSchema: DataSchema | undefined,
  commandFor: (path: string) => C,
): Promise<C> {
  const { admission } = deps
  // A download needs room before it starts; a local source only when it turns out to be a zip unpacked here (checked
  // after: the data folder may then hold one request's data more than the limit, until that request is refused).
  const remote = isHttpDataSource(dataSource)
  if (remote) admission?.reserveHeld(id)
  try {
    let path: string
    try {
      path = await resolveDataSource(dataSource, id, deps.dataSource, dataSchema)
      const here = isInside(deps.dataSource.dataDir, path)
      if (!here)
        admission?.releaseHeld(id) // a local file, read where it is
      else if (!remote) admission?.reserveHeld(id)
    } catch (error) {
      try {
        await removeDataSourceFiles(deps.dataSource.dataDir, id)
      } finally {
        admission?.releaseHeld(id)
      }
      throw error
    }
    const command = commandFor(path)
    await submitFetched(deps, command)
    return command
  } finally {
    admission?.answered(id) // held, if it still is, until its job ends (app.ts) or reconcile finds it ended
  }
}

function isInside(folder: string, path: string): boolean {
  const rel = relative(resolve(folder), resolve(path))
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)
}

/**
 * Queues the job of a request whose data was fetched under the job's id. A job that is not queued (the control
 * plane failed, and its store has no such job) would never remove those files, so they are removed here.
 */
async function submitFetched(deps: MvadApiDeps, command: TrainCommand | DetectBatchCommand): Promise<void> {
  try {
    await deps.submit(command)
  } catch (error) {
    let queued = true // unknown (the job store failing too): the job may run, its files stay for it
    try {
      queued = (await deps.jobs.get(command.jobId)) !== undefined
    } catch {
      // keep them
    }
    // Fetched under the model id (train) or the result id (detect-batch: the job id).
    const id = command.type === 'train' ? command.modelId : command.jobId
    if (!queued) {
      try {
        await removeDataSourceFiles(deps.dataSource.dataDir, id)
      } finally {
        deps.admission?.releaseHeld(id)
      }
    }
    throw error
  }
}

/** The dataSchema a model was trained with (OneTable when its training request did not say). */
async function trainedDataSchema(deps: MvadApiDeps, modelId: string, version: number): Promise<DataSchema> {
  const request = (await deps.models.getInfo(modelId, version))?.trainingRequest as { dataSchema?: unknown } | undefined
  return request?.dataSchema === 'MultiTable' ? 'MultiTable' : 'OneTable'
}

async function getResult(deps: MvadApiDeps, resultId: string): Promise<Record<string, unknown>> {
  const record = await deps.results.get(resultId)
  if (record !== undefined) {
    const wire = resultToWire(record)
    const summary = wire.summary as { status?: string }
    if (summary.status !== 'CREATED' && summary.status !== 'RUNNING') return wire
    // A stored result still in progress whose job has failed (e.g. its instance died mid-run) reports the failure.
    const job = await deps.jobs.get(resultId)
    if (job?.status === 'FAILED') Object.assign(summary, { status: 'FAILED', errors: job.errors })
    return wire
  }
  const job = await deps.jobs.get(resultId)
  // Only a job that has not finished stands in for its result: a finished one without a stored result had it
  // expire (or never stored it), and answering CREATED would keep a client polling for ever.
  if (job !== undefined && job.type === 'detect-batch' && job.status !== 'READY') {
    const wire = pendingResultToWire(job.command as DetectBatchCommand)
    // A job that failed before writing its result (e.g. the model was deleted meanwhile) reports it here.
    if (job.status === 'FAILED') Object.assign(wire.summary as object, { status: 'FAILED', errors: job.errors })
    else if (job.status === 'RUNNING') Object.assign(wire.summary as object, { status: 'RUNNING' })
    return wire
  }
  const kept = deps.resultTtlSeconds === undefined ? '' : `; results are kept ${duration(deps.resultTtlSeconds)}`
  throw new ServiceError('ResultNotExist', `The result does not exist. (${resultId}${kept})`)
}
