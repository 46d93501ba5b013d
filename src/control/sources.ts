/**
 * Data sources of train and detect-batch jobs → aligned series. A file source is read as the CLI reads it (OneTable
 * file or MultiTable folder, MVAD alignment); a topic source replays one entity's readings with the live pipeline's
 * alignment (readings-series.ts): read here (readTopicSource, Kafka I/O), aligned on a worker thread
 * (alignTopicRead). Failed input records are returned, never dropped silently.
 */
import type { AlignPolicy, AlignedSeries } from '../domain/types.js'
import { alignTable, rangeIndices } from '../data/align.js'
import { insideFolders } from '../data/file-roots.js'
import { readTable } from '../data/files.js'
import { alignForModel, variablesWithoutData } from '../data/inference.js'
import type { TimeRange } from '../data/table.js'
import { parseIsoTimestamp } from '../data/timestamp.js'
import { MVAD_LIMITS } from '../data/limits.js'
import { ServiceError } from '../errors.js'
import type { DataSource } from './commands.js'
import type { ReadingsRangeReader, RejectedRecord } from './kafka-range-reader.js'
import { readingAt, seriesFromReadings, type PackedReadings } from './readings-series.js'
import type { WindowSourceDeps } from './window-source.js'

export interface SourceDeps extends WindowSourceDeps {
  rangeReader: ReadingsRangeReader
  /** Topic of a topic source that names none. */
  readingsTopic: string
  /**
   * Folders the files a command names (a file source, a labels file) must be in, symbolic links resolved; empty or
   * absent: any file this service can read (MVAD_CONTROL_FILE_ROOTS).
   */
  fileRoots?: readonly string[]
}

/**
 * Refuses a file outside `deps.fileRoots` before any work: a client that can send commands must not make the
 * service read its other files (a job's error quotes a file's first line: the header it found).
 */
export async function assertFileAllowed(
  path: string,
  field: string,
  deps: Pick<SourceDeps, 'fileRoots'>,
): Promise<void> {
  const roots = deps.fileRoots ?? []
  if (roots.length === 0 || (await insideFolders(path, roots)).inside) return
  throw new ServiceError(
    'InvalidRequestParameterError',
    `${field} ${path} is outside the folders this service reads command files from (MVAD_CONTROL_FILE_ROOTS)`,
  )
}

/** MVAD's `dataSource` string of a source: the path, kafka://topic/entity or redis-window://entity. */
export function describeSource(source: DataSource, readingsTopic: string): string {
  if (source.kind === 'file') return source.path
  if (source.kind === 'window') return `redis-window://${source.entity}`
  return `kafka://${source.topic ?? readingsTopic}/${source.entity}`
}

export interface LoadedSource {
  series: AlignedSeries
  /** MVAD's `dataSource` string (describeSource). */
  dataSource: string
  failedRecords: RejectedRecord[]
}

export interface LoadSourceOptions {
  alignPolicy: AlignPolicy
  /** Model variables (detection) — the input must carry exactly these; or the training subset to keep. */
  variables?: readonly string[]
  /** Detection requires exactly `variables`; training keeps only them. */
  exactVariables: boolean
  /** Rows to keep (training); detection keeps every row as history and selects its output range later. */
  range?: TimeRange
  /** The rows `variableStates` describe (detection: its output range). @defaultValue the rows kept */
  statesRange?: TimeRange
  signal: AbortSignal
  onProgress?: (fraction: number) => void
}

export function parseTime(text: string | undefined, field: string): number | undefined {
  if (text === undefined) return undefined
  const ms = parseIsoTimestamp(text)
  if (ms === undefined)
    throw new ServiceError('InvalidTimestampFormat', `${field} "${text}" is not an ISO 8601 timestamp`)
  return ms
}

/** A OneTable file or MultiTable folder, read and aligned as the CLI does (needs no Kafka: runs in workers too). */
export async function loadFileSource(path: string, options: Omit<LoadSourceOptions, 'signal'>): Promise<LoadedSource> {
  const table = await readTable(path)
  let series: AlignedSeries
  if (options.variables !== undefined && options.exactVariables) {
    series = alignForModel(
      table,
      options.variables,
      options.alignPolicy,
      options.statesRange === undefined ? {} : { statesRange: options.statesRange },
    )
  } else {
    const keep = options.variables === undefined ? undefined : new Set(options.variables)
    const missing = options.variables?.filter((v) => !table.variables.some((t) => t.variable === v)) ?? []
    if (missing.length > 0) {
      throw new ServiceError('ColumnNotFound', `${path}: variables not in the data: ${missing.join(', ')}`)
    }
    const selected =
      keep === undefined ? table : { ...table, variables: table.variables.filter((v) => keep.has(v.variable)) }
    series = alignTable(selected, options.alignPolicy, {
      ...(options.range === undefined ? {} : { range: options.range }),
      ...(options.statesRange === undefined ? {} : { statesRange: options.statesRange }),
    })
  }
  options.onProgress?.(1)
  return { series, dataSource: path, failedRecords: [] }
}

/**
 * A topic range as read by the main thread (which has the Kafka client): packed readings and the records that could
 * not be decoded. Aligning it (alignTopicRead) is pure and runs on a worker thread.
 */
export interface TopicRead {
  readings: PackedReadings
  rejected: RejectedRecord[]
  dataSource: string
}

export async function readTopicSource(
  source: Extract<DataSource, { kind: 'topic' }>,
  options: Pick<LoadSourceOptions, 'signal' | 'onProgress'>,
  deps: Pick<SourceDeps, 'rangeReader' | 'readingsTopic'>,
): Promise<TopicRead> {
  const topic = source.topic ?? deps.readingsTopic
  const read = await deps.rangeReader.read(
    {
      topic,
      entity: source.entity,
      ...(source.fromTime === undefined ? {} : { fromTime: parseTime(source.fromTime, 'source.fromTime') as number }),
      ...(source.toTime === undefined ? {} : { toTime: parseTime(source.toTime, 'source.toTime') as number }),
    },
    options.signal,
    options.onProgress,
  )
  if (read.readings.count === 0) {
    throw new ServiceError(
      'NoData',
      `no readings of entity ${source.entity} in the scanned range of topic ${topic} (${read.scanned} messages scanned)`,
    )
  }
  return { readings: read.readings, rejected: read.rejected, dataSource: describeSource(source, deps.readingsTopic) }
}

/** Failed records of a topic read: the undecodable ones, then (detection) readings of variables the model lacks. */
export function topicFailedRecords(read: TopicRead, variables: readonly string[] | undefined): RejectedRecord[] {
  if (variables === undefined) return [...read.rejected]
  const known = new Set(variables)
  const unknownIndex = new Set(read.readings.names.flatMap((name, i) => (known.has(name) ? [] : [i])))
  const failed = [...read.rejected]
  if (unknownIndex.size === 0) return failed
  for (let i = 0; i < read.readings.count; i++) {
    if (!unknownIndex.has(read.readings.variable[i] as number)) continue
    const r = readingAt(read.readings, i)
    failed.push({
      partition: r.partition,
      offset: r.offset.toString(),
      reason: 'unknown_variable',
      detail: `variable ${r.variable} is not one of the model's variables`,
    })
  }
  return failed
}

/** As alignForModel refuses files (variablesWithoutData); a range with no reading at all keeps its "no data" answer. */
function assertEveryVariableRead(read: TopicRead, variables: readonly string[]): void {
  const { readings } = read
  if (readings.count === 0) return
  const seen = new Set<string>()
  for (let i = 0; i < readings.count; i++) seen.add(readings.names[readings.variable[i] as number] as string)
  const empty = variables.filter((v) => !seen.has(v))
  if (empty.length > 0) throw variablesWithoutData(read.dataSource, empty, 'reading')
}

/** A topic read → the series, with the live pipeline's alignment (pure: runs on worker threads). */
export function alignTopicRead(
  read: TopicRead,
  options: Omit<LoadSourceOptions, 'signal' | 'onProgress'>,
): LoadedSource {
  if (options.exactVariables && options.variables !== undefined) assertEveryVariableRead(read, options.variables)
  // The states describe the rows kept (training's range), or the detection's output range.
  const statesRange = options.statesRange ?? options.range
  const full = seriesFromReadings(read.readings, {
    ...(options.variables === undefined ? {} : { variables: options.variables }),
    fillNAMethod: options.alignPolicy.fillNAMethod,
    paddingValue: options.alignPolicy.paddingValue,
    ...(statesRange === undefined ? {} : { statesRange }),
    limits: { maxRows: MVAD_LIMITS.maxTimestamps, maxVariables: MVAD_LIMITS.maxVariables, source: read.dataSource },
  })
  const [lo, hi] = rangeIndices(full.timestamps, options.range)
  const series =
    lo === 0 && hi === full.timestamps.length
      ? full
      : { ...full, timestamps: full.timestamps.slice(lo, hi), rows: full.rows.slice(lo, hi) }
  return {
    series,
    dataSource: read.dataSource,
    failedRecords: topicFailedRecords(read, options.exactVariables ? options.variables : undefined),
  }
}
