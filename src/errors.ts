/**
 * The one place error codes live. Two families share one class:
 * - service codes (config, infrastructure, records) that decide retries and dead-lettering;
 * - MVAD codes, kept letter for letter from Azure MVAD so migrating users see the codes their code already handles.
 * `retriable` is true for transient I/O and for conflicts that end by themselves (a model another request is deleting
 * or deploying, state/model-deletion.ts); user and data errors never retry.
 */
export const SERVICE_ERROR_CODES = [
  'ConfigInvalid',
  'InfrastructureUnavailable',
  'KafkaError',
  'RedisError',
  /** A window store that came back with older data than this worker wrote (the partition is read again). */
  'StoreBehind',
  'SchemaRegistryError',
  'DecodeFailed',
  'ShutdownInProgress',
  'JobCanceled',
  'JobInterrupted',
  'ModelInUse',
  'JobNotFound',
  'ErrorThresholdExceeded',
  /** More REST work than this instance takes on at once (429 with Retry-After). */
  'TooManyRequests',
  'Internal',
] as const

/** MVAD error codes (reference: shared/reference/mvad-api.md §6). */
export const MVAD_ERROR_CODES = [
  'InvalidJsonFormat',
  'InvalidAlignMode',
  'InvalidFillNAMethod',
  'RequiredPaddingValue',
  'RequiredSource',
  'RequiredStartTime',
  'RequiredEndTime',
  'InvalidTimestampFormat',
  'InvalidSlidingWindow',
  'InvalidTopContributorCount',
  'InvalidRequestParameterError',
  'ModelNotExist',
  'ModelNotReady',
  'ModelFailed',
  'ResultNotExist',
  'InvalidFileSize',
  'NoVariablesFound',
  'DuplicatedVariables',
  'DuplicatedTimestamps',
  'FileNotExist',
  'RedundantFile',
  'FileSizeTooLarge',
  'ReadingFileError',
  'FileColumnsNotExist',
  'VariableParseError',
  'MergeDataFailed',
  'ColumnNotFound',
  'NumColumnsMismatch',
  'TooManyData',
  'TooManyVariables',
  'NoData',
  'DataExceedsLimit',
  'NotEnoughInput',
  'InsufficientHistoricalData',
  'UnknownVariable',
  'InvalidModelState',
  'UnexpectedError',
] as const

export type ServiceErrorCode = (typeof SERVICE_ERROR_CODES)[number]
export type MvadErrorCode = (typeof MVAD_ERROR_CODES)[number]
export type ErrorCode = ServiceErrorCode | MvadErrorCode

const RETRIABLE_BY_DEFAULT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'InfrastructureUnavailable',
  'KafkaError',
  'RedisError',
  'SchemaRegistryError',
])

export interface ServiceErrorOptions {
  retriable?: boolean
  cause?: unknown
}

export class ServiceError extends Error {
  readonly code: ErrorCode
  readonly retriable: boolean

  constructor(code: ErrorCode, message: string, options: ServiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'ServiceError'
    this.code = code
    this.retriable = options.retriable ?? RETRIABLE_BY_DEFAULT.has(code)
  }

  /** MVAD's error body shape `{code, message}`. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message }
  }
}

export function isServiceError(value: unknown): value is ServiceError {
  return value instanceof ServiceError
}

/** Wraps anything thrown into a ServiceError, keeping the original as `cause`. */
export function toServiceError(value: unknown, fallback: ErrorCode = 'Internal'): ServiceError {
  if (value instanceof ServiceError) return value
  const message = value instanceof Error ? value.message : String(value)
  return new ServiceError(fallback, message, { cause: value })
}
