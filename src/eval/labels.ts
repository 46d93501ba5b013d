/**
 * Readers for the benchmark's ground truth: `labels.csv` (`timestamp,label`) and `interpretation.csv`
 * (`start,end,variables`, variables `;`-separated). Text in, typed values out; files are read by the caller.
 */
import { parse } from 'csv-parse/sync'
import type { EpochMs } from '../domain/types.js'
import { ServiceError } from '../errors.js'
import { parseIsoTimestamp } from '../data/timestamp.js'

export interface Labels {
  timestamps: EpochMs[]
  /** 1 = anomalous. */
  labels: Uint8Array
}

/** One labelled anomaly segment and the variables that caused it (inclusive time range). */
export interface CauseSegment {
  start: EpochMs
  end: EpochMs
  variables: string[]
}

/** A record and the line it is on (blank lines are skipped, so records and lines need not match). */
interface NumberedRecord {
  row: string[]
  line: number
}

function records(text: string, source: string, columns: readonly string[]): NumberedRecord[] {
  let parsed: { record: string[]; info: { lines: number } }[]
  try {
    // With `info`, csv-parse gives each record with its line; its typings still say string[][].
    parsed = parse(text, {
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      info: true,
    }) as unknown as { record: string[]; info: { lines: number } }[]
  } catch (err) {
    throw new ServiceError('ReadingFileError', `${source}: ${err instanceof Error ? err.message : String(err)}`)
  }
  const header = parsed[0]?.record
  if (header === undefined || columns.some((c, i) => header[i] !== c)) {
    throw new ServiceError(
      'FileColumnsNotExist',
      `${source} line 1: expected columns '${columns.join(',')}', got '${header?.join(',') ?? ''}'`,
    )
  }
  // Extra columns the header names (a note, say) are allowed; a row must have as many as the header.
  return parsed.slice(1).map(({ record, info }) => {
    if (record.length !== header.length) {
      throw new ServiceError(
        'NumColumnsMismatch',
        `${source} line ${info.lines}: ${record.length} columns, the header has ${header.length} (${header.join(',')})${columns.includes('variables') ? "; separate variables with ';' or quote the field" : ''}`,
      )
    }
    return { row: record, line: info.lines }
  })
}

function timestampAt(text: string | undefined, source: string, line: number, column: string): EpochMs {
  const ts = parseIsoTimestamp(text ?? '')
  if (ts === undefined) {
    throw new ServiceError(
      'InvalidTimestampFormat',
      `${source} line ${line}, column '${column}': '${text ?? ''}' is not ISO 8601`,
    )
  }
  return ts
}

/** Parses `timestamp,label` (label 0/1), one label per timestamp. */
export function parseLabelsCsv(text: string, source = 'labels.csv'): Labels {
  const rows = records(text, source, ['timestamp', 'label'])
  if (rows.length === 0) throw new ServiceError('NoData', `${source} holds no label (only a header)`)
  const labels = new Uint8Array(rows.length)
  const seen = new Map<EpochMs, number>()
  const timestamps = rows.map(({ row, line }, i) => {
    const v = row[1]
    if (v !== '0' && v !== '1') {
      throw new ServiceError('VariableParseError', `${source} line ${line}, column 'label': '${v ?? ''}' is not 0 or 1`)
    }
    labels[i] = v === '1' ? 1 : 0
    const timestamp = timestampAt(row[0], source, line, 'timestamp')
    const earlier = seen.get(timestamp)
    if (earlier !== undefined) {
      throw new ServiceError(
        'DuplicatedTimestamps',
        `${source} line ${line}: timestamp '${row[0] ?? ''}' is labelled already on line ${earlier}`,
      )
    }
    seen.set(timestamp, line)
    return timestamp
  })
  return { timestamps, labels }
}

/** Parses `start,end,variables`. Segments may nest or overlap (the SMD labels do); a reversed one is refused. */
export function parseInterpretationCsv(text: string, source = 'interpretation.csv'): CauseSegment[] {
  return records(text, source, ['start', 'end', 'variables']).map(({ row, line }) => {
    const start = timestampAt(row[0], source, line, 'start')
    const end = timestampAt(row[1], source, line, 'end')
    if (end < start) throw new ServiceError('ReadingFileError', `${source} line ${line}: end is before start`)
    const variables = (row[2] ?? '')
      .split(';')
      .map((v) => v.trim())
      .filter((v) => v !== '')
    return { start, end, variables }
  })
}
