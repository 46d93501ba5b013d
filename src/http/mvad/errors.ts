/**
 * MVAD's error answers: body `{code, message}`, header `x-ms-error-code`, and the HTTP status MVAD used for each
 * code (404 for missing models and results, 413 for oversize input, 400 for request and data problems). Nothing
 * a client sends yields a 5xx: only our own faults (and unavailable infrastructure, 503) do.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply } from 'fastify'
import { isServiceError } from '../../errors.js'

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  ModelNotExist: 404,
  ResultNotExist: 404,
  JobNotFound: 404,
  InvalidFileSize: 413,
  TooManyRequests: 429,
  ModelInUse: 409,
  Internal: 500,
  UnexpectedError: 500,
  InvalidModelState: 500,
  InfrastructureUnavailable: 503,
  KafkaError: 503,
  RedisError: 503,
  SchemaRegistryError: 503,
  ShutdownInProgress: 503,
}

export function sendMvadError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  // Azure's SDKs retry a 429 after Retry-After by themselves.
  if (status === 429) reply.header('retry-after', '1')
  return reply.code(status).header('x-ms-error-code', code).send({ code, message })
}

interface FastifyLikeError {
  code?: string
  statusCode?: number
  message?: string
  validation?: { keyword: string; instancePath: string; params: Record<string, unknown>; message?: string }[]
}

/** The MVAD answer to anything a route throws. */
export function toMvadError(error: unknown): { status: number; code: string; message: string } {
  if (isServiceError(error))
    return { status: STATUS_BY_CODE[error.code] ?? 400, code: error.code, message: error.message }
  const e = (typeof error === 'object' && error !== null ? error : {}) as FastifyLikeError
  if (e.validation !== undefined) {
    const first = e.validation[0]
    const missing = first?.keyword === 'required' ? String(first.params.missingProperty) : undefined
    const code =
      missing === 'dataSource'
        ? 'RequiredSource'
        : missing === 'startTime'
          ? 'RequiredStartTime'
          : missing === 'endTime'
            ? 'RequiredEndTime'
            : 'InvalidRequestParameterError'
    const path = first?.instancePath ?? ''
    const where = path === '' ? 'body' : `body${path}`
    // The field's own MVAD code where it has one (a wrong type included: 60.5, "60" or null as slidingWindow).
    const fieldCode =
      path === '/slidingWindow'
        ? 'InvalidSlidingWindow'
        : path === '/topContributorCount'
          ? 'InvalidTopContributorCount'
          : /^\/variables\/\d+\/values\/\d+$/.test(path)
            ? 'VariableParseError'
            : undefined
    const hint = fieldCode === 'VariableParseError' ? ' (values must be finite numbers: null, NaN or text are not)' : ''
    return { status: 400, code: fieldCode ?? code, message: `${where} ${first?.message ?? 'is invalid'}${hint}` }
  }
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, code: 'InvalidFileSize', message: 'The request body exceeds the size limit.' }
  }
  if (
    e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
    error instanceof SyntaxError
  ) {
    return { status: 400, code: 'InvalidJsonFormat', message: `Invalid JSON format. ${e.message ?? ''}`.trim() }
  }
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return { status: 415, code: 'InvalidRequestParameterError', message: 'Content-Type must be application/json.' }
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, code: 'InvalidRequestParameterError', message: e.message ?? 'bad request' }
  }
  return { status: 500, code: 'UnexpectedError', message: e.message ?? String(error) }
}

/** Constant-time comparison of the presented key with the configured one (both hashed to equal lengths first). */
export function checkApiKey(expected: string | undefined, presented: string | string[] | undefined): boolean {
  if (expected === undefined) return true
  if (typeof presented !== 'string') return false
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest()
  return timingSafeEqual(digest(expected), digest(presented))
}
