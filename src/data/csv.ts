/**
 * Streaming CSV parsing of MVAD OneTable / MultiTable files (csv-parse). Inputs can be a string, a Buffer or any
 * byte/text stream, so the CLI (files) and the REST API (request bodies) share one parser and one set of errors.
 * Every error names the file, the 1-based line and, where it applies, the column.
 */
import { Readable } from 'node:stream'
import { parse, CsvError } from 'csv-parse'
import { ServiceError } from '../errors.js'
import { MAX_ABS_VALUE, MVAD_LIMITS, type ReadLimits } from './limits.js'
import { parseIsoTimestamp, formatIsoTimestamp } from './timestamp.js'
import type { RawTable, RawVariable } from './table.js'

/** Anything the parser can read from. */
export type CsvInput = string | Uint8Array | Readable | AsyncIterable<string | Uint8Array>

/** Cells read as missing values (pandas' usual NA spellings), besides the empty cell. */
const MISSING_CELLS: ReadonlySet<string> = new Set(['', 'NaN', 'nan', 'NA', 'N/A', 'null', 'NULL'])

interface CsvRecord {
  record: string[]
  line: number
}

function toReadable(input: CsvInput): Readable {
  if (typeof input === 'string' || input instanceof Uint8Array) return Readable.from([input])
  if (input instanceof Readable) return input
  return Readable.from(input)
}

async function* csvRecords(input: CsvInput, source: string): AsyncGenerator<CsvRecord> {
  const parser = parse({
    bom: true,
    trim: true,
    skip_empty_lines: true,
    relax_column_count: true,
    info: true,
    // Any line ending, mixed too: auto-detection keeps the first one found, so a CRLF file with LF-only lines (a
    // file edited on two systems) would read two lines as one record.
    record_delimiter: ['\r\n', '\n', '\r'],
  })
  const readable = toReadable(input)
  // pipe() does not forward source errors; without this a failing file read would hang the loop.
  readable.on('error', (err) => parser.destroy(err))
  readable.pipe(parser)
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      yield { record: item.record, line: item.info.lines }
    }
  } catch (err) {
    if (err instanceof ServiceError) throw err
    if (err instanceof CsvError) {
      const line = (err as CsvError & { lines?: number }).lines
      throw new ServiceError(
        'ReadingFileError',
        `${source}${line === undefined ? '' : ` line ${line}`}: ${err.message}`,
        {
          cause: err,
        },
      )
    }
    const message = err instanceof Error ? err.message : String(err)
    throw new ServiceError('ReadingFileError', `${source}: cannot read: ${message}`, { cause: err })
  } finally {
    readable.unpipe(parser)
    if (!readable.destroyed) readable.destroy()
  }
}

function parseTimestampCell(cell: string, source: string, line: number): number {
  const ts = parseIsoTimestamp(cell)
  if (ts === undefined) {
    throw new ServiceError(
      'InvalidTimestampFormat',
      `${source} line ${line}, column 'timestamp': '${cell}' is not an ISO 8601 timestamp (e.g. 2024-01-01T00:00:00Z)`,
    )
  }
  return ts
}

/** "0x…", "0b…", "0o…": numbers to Number(), not to a CSV of measurements (cells arrive trimmed). */
function isPrefixedInteger(cell: string): boolean {
  const letter = cell.charCodeAt(1) | 0x20 // lower case
  return cell.charCodeAt(0) === 48 && (letter === 0x78 || letter === 0x62 || letter === 0x6f)
}

function parseValueCell(cell: string, source: string, line: number, column: string): number {
  if (MISSING_CELLS.has(cell)) return Number.NaN
  const value = Number(cell)
  if (!Number.isFinite(value) || isPrefixedInteger(cell)) {
    throw new ServiceError(
      'VariableParseError',
      `${source} line ${line}, column '${column}': '${cell}' is not a number`,
    )
  }
  if (Math.abs(value) > MAX_ABS_VALUE) {
    throw new ServiceError(
      'VariableParseError',
      `${source} line ${line}, column '${column}': '${cell}' is outside ±${MAX_ABS_VALUE} (too large to model)`,
    )
  }
  return value
}

/**
 * Sorts rows by time and rejects duplicates. Returns the permutation (identity when already sorted, the usual case).
 */
function sortedOrder(timestamps: readonly number[], lines: readonly number[], source: string): number[] | null {
  let sorted = true
  for (let i = 1; i < timestamps.length; i++) {
    if ((timestamps[i] ?? 0) <= (timestamps[i - 1] ?? 0)) {
      sorted = false
      break
    }
  }
  const order = sorted ? null : timestamps.map((_, i) => i).sort((a, b) => (timestamps[a] ?? 0) - (timestamps[b] ?? 0))
  for (let k = 1; k < timestamps.length; k++) {
    const i = order === null ? k : (order[k] ?? 0)
    const p = order === null ? k - 1 : (order[k - 1] ?? 0)
    if (timestamps[i] === timestamps[p]) {
      const [a, b] = [lines[p] ?? 0, lines[i] ?? 0].sort((x, y) => x - y)
      throw new ServiceError(
        'DuplicatedTimestamps',
        `${source}: timestamp ${formatIsoTimestamp(timestamps[i] ?? 0)} appears twice (lines ${a} and ${b}); keep one row per timestamp`,
      )
    }
  }
  return order
}

function permute(values: readonly number[], order: readonly number[] | null): Float64Array {
  if (order === null) return Float64Array.from(values)
  const out = new Float64Array(order.length)
  for (let k = 0; k < order.length; k++) out[k] = values[order[k] ?? 0] ?? Number.NaN
  return out
}

function checkHeaderNames(names: readonly string[], source: string): void {
  const seen = new Set<string>()
  names.forEach((name, i) => {
    if (name === '') throw new ServiceError('ColumnNotFound', `${source} line 1: column ${i + 1} has an empty name`)
    if (seen.has(name)) {
      throw new ServiceError('DuplicatedVariables', `${source} line 1: column '${name}' appears more than once`)
    }
    seen.add(name)
  })
}

/**
 * Parses an MVAD OneTable CSV: a `timestamp` column (case-sensitive) plus one column per variable.
 * Empty cells are missing values. Rows are sorted by time; variables by name.
 */
export async function parseOneTable(input: CsvInput, source: string, limits: ReadLimits = {}): Promise<RawTable> {
  const maxVariables = limits.maxVariables ?? MVAD_LIMITS.maxVariables
  const maxTimestamps = limits.maxTimestamps ?? MVAD_LIMITS.maxTimestamps
  let header: string[] | undefined
  let tsIndex = -1
  let columns: number[][] = []
  const timestamps: number[] = []
  const lines: number[] = []
  for await (const { record, line } of csvRecords(input, source)) {
    if (header === undefined) {
      header = record
      checkHeaderNames(header, source)
      tsIndex = header.indexOf('timestamp')
      if (tsIndex < 0) {
        throw new ServiceError(
          'ColumnNotFound',
          `${source} line ${line}: no 'timestamp' column (case-sensitive) in header [${header.join(', ')}]` +
            (header.length === 1 && /[;\t|]/.test(header[0] ?? '')
              ? ': the header is one column, so the file seems separated by something other than commas; MVAD CSVs use commas'
              : ''),
        )
      }
      const variableCount = header.length - 1
      if (variableCount === 0)
        throw new ServiceError('NoVariablesFound', `${source}: no variable columns besides 'timestamp'`)
      if (variableCount > maxVariables) {
        throw new ServiceError(
          'TooManyVariables',
          `${source}: ${variableCount} variables, at most ${maxVariables} are supported; split the table`,
        )
      }
      columns = header.map(() => [])
      continue
    }
    if (record.length !== header.length) {
      throw new ServiceError(
        'NumColumnsMismatch',
        `${source} line ${line}: ${record.length} columns, but the header has ${header.length}`,
      )
    }
    if (timestamps.length >= maxTimestamps) {
      throw new ServiceError('TooManyData', `${source}: more than ${maxTimestamps} timestamps; shorten the time range`)
    }
    timestamps.push(parseTimestampCell(record[tsIndex] ?? '', source, line))
    lines.push(line)
    for (let c = 0; c < record.length; c++) {
      if (c === tsIndex) continue
      columns[c]?.push(parseValueCell(record[c] ?? '', source, line, header[c] ?? ''))
    }
  }
  if (header === undefined) throw new ServiceError('NoData', `${source}: the file is empty`)
  const order = sortedOrder(timestamps, lines, source)
  const sortedTimestamps = permute(timestamps, order)
  const variables: RawVariable[] = []
  header.forEach((name, c) => {
    if (c === tsIndex) return
    // All variables share one timestamps array: alignment uses that to skip the union for OneTable.
    variables.push({ variable: name, timestamps: sortedTimestamps, values: permute(columns[c] ?? [], order) })
  })
  variables.sort((a, b) => compareNames(a.variable, b.variable))
  return { schema: 'OneTable', source, variables }
}

/** Parses one MultiTable file (exactly the columns `timestamp,value`) into one variable. */
export async function parseVariableFile(
  input: CsvInput,
  variable: string,
  source: string,
  limits: ReadLimits = {},
): Promise<RawVariable> {
  const maxTimestamps = limits.maxTimestamps ?? MVAD_LIMITS.maxTimestamps
  let headerSeen = false
  let tsIndex = 0
  const timestamps: number[] = []
  const values: number[] = []
  const lines: number[] = []
  for await (const { record, line } of csvRecords(input, source)) {
    if (!headerSeen) {
      headerSeen = true
      if (record.length !== 2 || !record.includes('timestamp') || !record.includes('value')) {
        throw new ServiceError(
          'FileColumnsNotExist',
          `${source} line ${line}: columns are [${record.join(', ')}], expected exactly 'timestamp,value' (case-sensitive)`,
        )
      }
      tsIndex = record.indexOf('timestamp')
      continue
    }
    if (record.length !== 2) {
      throw new ServiceError('NumColumnsMismatch', `${source} line ${line}: ${record.length} columns, expected 2`)
    }
    if (timestamps.length >= maxTimestamps) {
      throw new ServiceError('TooManyData', `${source}: more than ${maxTimestamps} timestamps; shorten the time range`)
    }
    timestamps.push(parseTimestampCell(record[tsIndex] ?? '', source, line))
    values.push(parseValueCell(record[1 - tsIndex] ?? '', source, line, 'value'))
    lines.push(line)
  }
  if (!headerSeen) throw new ServiceError('NoData', `${source}: the file is empty`)
  const order = sortedOrder(timestamps, lines, source)
  return { variable, timestamps: permute(timestamps, order), values: permute(values, order) }
}

/** One file of a MultiTable source: its variable name is the file name without `.csv`. */
export interface VariableFileInput {
  variable: string
  input: CsvInput
  /** Name used in error messages. @defaultValue `<variable>.csv` */
  source?: string
}

/** Parses a MultiTable source (one `timestamp,value` file per variable). */
export async function parseMultiTable(
  files: readonly VariableFileInput[],
  source: string,
  limits: ReadLimits = {},
): Promise<RawTable> {
  const maxVariables = limits.maxVariables ?? MVAD_LIMITS.maxVariables
  if (files.length === 0) throw new ServiceError('NoVariablesFound', `${source}: no .csv files found`)
  if (files.length > maxVariables) {
    throw new ServiceError(
      'TooManyVariables',
      `${source}: ${files.length} variables, at most ${maxVariables} are supported; split the data`,
    )
  }
  const seen = new Set<string>()
  for (const f of files) {
    if (seen.has(f.variable))
      throw new ServiceError('DuplicatedVariables', `${source}: variable '${f.variable}' appears twice`)
    seen.add(f.variable)
  }
  const variables: RawVariable[] = []
  // Sequential on purpose: files are read one at a time to bound memory and open file handles.
  for (const f of files) {
    variables.push(await parseVariableFile(f.input, f.variable, f.source ?? `${f.variable}.csv`, limits))
  }
  variables.sort((a, b) => compareNames(a.variable, b.variable))
  return { schema: 'MultiTable', source, variables }
}

/** Ordinal (code-unit) order, like Python's `sorted` in the OSS implementation; locale-independent. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
