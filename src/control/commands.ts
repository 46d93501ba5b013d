/**
 * Control commands (format: schemas/json/control-command.v1.json, the single source of truth; these types mirror
 * it). Validation is the JSON Schema itself (ajv), so a JSON message and a registry-encoded one are held to the same
 * rules. A bad command is data: `{ok: false, reason, detail}` for the dead-letter topic, never a throw.
 * Numeric limits with MVAD error codes (slidingWindow, topContributorCount, model params) are checked by the job
 * that uses them, so they fail the job with the code MVAD users expect instead of dead-lettering the command.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormatsPlugin from 'ajv-formats'
import type { AlignPolicy } from '../domain/types.js'
import { readSchemaText } from '../schema-files.js'

export interface FileSource {
  kind: 'file'
  path: string
}

export interface TopicSource {
  kind: 'topic'
  entity: string
  /** @defaultValue the service's readings topic */
  topic?: string
  /** Kafka (ingest) time bounds of the scan. */
  fromTime?: string
  toTime?: string
}

/** The rows the stream keeps in Redis for an entity (its sliding window, as scored). */
export interface WindowSource {
  kind: 'window'
  entity: string
}

export type DataSource = FileSource | TopicSource | WindowSource

export interface TrainCommand {
  type: 'train'
  jobId: string
  modelId: string
  displayName?: string
  source: DataSource
  /** How the client named the data (MVAD dataSource), echoed instead of the resolved source. */
  dataSource?: string
  /** MVAD dataSchema as the client gave it (echoed in modelInfo). */
  dataSchema?: 'OneTable' | 'MultiTable'
  startTime?: string
  endTime?: string
  variables?: string[]
  slidingWindow?: number
  alignPolicy?: Partial<AlignPolicy>
  params?: Record<string, number>
  labels?: { path: string; validationFraction?: number }
  charts?: boolean
}

export interface DetectBatchCommand {
  type: 'detect-batch'
  jobId: string
  modelId: string
  version?: number
  source: DataSource
  /** How the client named the data (MVAD dataSource), echoed instead of the resolved source. */
  dataSource?: string
  startTime: string
  endTime: string
  topContributorCount?: number
  output?: { topic?: string; store?: boolean }
  options?: { miniBatchSize?: number; retryCount?: number; errorThreshold?: number }
  charts?: boolean
}

export interface DeployCommand {
  type: 'deploy'
  jobId: string
  modelId: string
  version?: number
  entities: string[]
  mode?: 'default' | 'shadow'
}

export interface DeleteModelCommand {
  type: 'delete-model'
  jobId: string
  modelId: string
}

export interface CancelCommand {
  type: 'cancel'
  jobId: string
  targetJobId: string
}

export type ControlCommand = TrainCommand | DetectBatchCommand | DeployCommand | DeleteModelCommand | CancelCommand
export type CommandType = ControlCommand['type']
export const COMMAND_TYPES: readonly CommandType[] = ['train', 'detect-batch', 'deploy', 'delete-model', 'cancel']

export type CommandRejectReason =
  'malformed_json' | 'unknown_type' | 'invalid_command' | 'job_id_conflict' | 'command_expired'

/**
 * Whether two commands are the same (key order aside): a jobId sent again with the same command is a redelivery,
 * with another command a mistake that must not look like success.
 */
export function sameCommand(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b)
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

export type CommandParseResult =
  { ok: true; command: ControlCommand } | { ok: false; reason: CommandRejectReason; detail: string }

export const CONTROL_COMMAND_SCHEMA_FILE = 'json/control-command.v1.json'

let validators: Map<CommandType, ValidateFunction> | undefined

function compiledValidators(): Map<CommandType, ValidateFunction> {
  if (validators !== undefined) return validators
  const schema = JSON.parse(readSchemaText(CONTROL_COMMAND_SCHEMA_FILE)) as { $id: string }
  const ajv = new Ajv({ allErrors: true, strict: false })
  // ajv-formats is CommonJS: its default export arrives wrapped under ESM.
  const plugin = addFormatsPlugin as unknown as { default?: (a: Ajv) => Ajv } & ((a: Ajv) => Ajv)
  ;(plugin.default ?? plugin)(ajv)
  ajv.addSchema(schema)
  validators = new Map(
    COMMAND_TYPES.map((type) => {
      const validate = ajv.getSchema(`${schema.$id}#/definitions/${type}`)
      if (validate === undefined) throw new Error(`control command schema lacks definitions/${type}`)
      return [type, validate]
    }),
  )
  return validators
}

function describeErrors(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => {
      const where = e.instancePath === '' ? '(command)' : e.instancePath
      const extra =
        e.keyword === 'additionalProperties'
          ? ` '${String((e.params as { additionalProperty?: string }).additionalProperty)}'`
          : e.keyword === 'enum'
            ? `: ${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)}`
            : ''
      return `${where} ${e.message ?? e.keyword}${extra}`
    })
    .join('; ')
}

/** Validates a decoded command object against the schema of its `type`. */
export function validateControlCommand(value: unknown): CommandParseResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'invalid_command', detail: 'a command is a JSON object with "type" and "jobId"' }
  }
  const type = (value as { type?: unknown }).type
  const validate = typeof type === 'string' ? compiledValidators().get(type as CommandType) : undefined
  if (validate === undefined) {
    return {
      ok: false,
      reason: 'unknown_type',
      detail: `"type" must be one of ${COMMAND_TYPES.join(', ')}; got ${JSON.stringify(type) ?? 'nothing'}`,
    }
  }
  if (!validate(value)) return { ok: false, reason: 'invalid_command', detail: describeErrors(validate.errors) }
  return { ok: true, command: value as ControlCommand }
}

/** Parses a JSON control message. */
export function parseJsonCommand(payload: Buffer | string): CommandParseResult {
  let value: unknown
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'))
  } catch (error) {
    return { ok: false, reason: 'malformed_json', detail: error instanceof Error ? error.message : String(error) }
  }
  return validateControlCommand(value)
}

/** The jobId of a message that failed validation, if one can be read (for the dead letter's headers). */
export function jobIdOf(value: unknown): string | undefined {
  const jobId = (value as { jobId?: unknown } | null)?.jobId
  return typeof jobId === 'string' ? jobId : undefined
}
