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

function records(text: string, source: string, columns: readonly string[]): string[][] {
  let rows: string[][]
  try {
    rows = parse(text, { bom: true, trim: true, skip_empty_lines: true, relax_column_count: true })
  } catch (err) {
    throw new ServiceError('ReadingFileError', `${source}: ${err instanceof Error ? err.message : String(err)}`)
  }
  const header = rows[0]
  if (header === undefined || columns.some((c, i) => header[i] !== c)) {
    throw new ServiceError(
      'FileColumnsNotExist',
      `${source} line 1: expected columns '${columns.join(',')}', got '${header?.join(',') ?? ''}'`,
    )
  }
  return rows.slice(1)
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

/** Parses `timestamp,label` (label 0/1). Lines are numbered assuming one record per line, as these files are. */
export function parseLabelsCsv(text: string, source = 'labels.csv'): Labels {
  const rows = records(text, source, ['timestamp', 'label'])
  const labels = new Uint8Array(rows.length)
  const timestamps = rows.map((row, i) => {
    const v = row[1]
    if (v !== '0' && v !== '1') {
      throw new ServiceError(
        'VariableParseError',
        `${source} line ${i + 2}, column 'label': '${v ?? ''}' is not 0 or 1`,
      )
    }
    labels[i] = v === '1' ? 1 : 0
    return timestampAt(row[0], source, i + 2, 'timestamp')
  })
  return { timestamps, labels }
}

/** Parses `start,end,variables`. */
export function parseInterpretationCsv(text: string, source = 'interpretation.csv'): CauseSegment[] {
  return records(text, source, ['start', 'end', 'variables']).map((row, i) => ({
    start: timestampAt(row[0], source, i + 2, 'start'),
    end: timestampAt(row[1], source, i + 2, 'end'),
    variables: (row[2] ?? '')
      .split(';')
      .map((v) => v.trim())
      .filter((v) => v !== ''),
  }))
}
