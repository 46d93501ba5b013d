/**
 * Format: MVAD AnomalyState on the wire (one JSON object per line in `results.jsonl`):
 * `{"timestamp":"2021-01-02T02:29:00Z","value":{"isAnomaly":…,"score":…,"severity":…,"interpretation":[…]},"errors":[]}`;
 * `value` is absent when `errors` is not empty. Timestamps are ISO 8601 UTC without milliseconds.
 */
import type { AnomalyState, AnomalyValue, Contributor } from '../domain/types.js'
import { ServiceError } from '../errors.js'
import { formatIsoTimestamp, parseIsoTimestamp } from '../data/timestamp.js'

export interface WireAnomalyState {
  timestamp: string
  value?: AnomalyValue
  errors: { code: string; message: string }[]
}

export function toWireAnomalyState(state: AnomalyState): WireAnomalyState {
  const timestamp = formatIsoTimestamp(state.timestamp)
  const v = state.value
  if (v === undefined) return { timestamp, errors: state.errors }
  // Key order as MVAD prints it, so diffs against recorded responses stay readable.
  const value = { isAnomaly: v.isAnomaly, score: v.score, severity: v.severity, interpretation: v.interpretation }
  return { timestamp, value, errors: state.errors }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function parseContributor(c: unknown): Contributor {
  if (!isRecord(c) || typeof c.variable !== 'string' || typeof c.contributionScore !== 'number') {
    throw new Error('interpretation entries need "variable" and "contributionScore"')
  }
  const changes = isRecord(c.correlationChanges) ? c.correlationChanges.changedVariables : undefined
  return {
    variable: c.variable,
    contributionScore: c.contributionScore,
    correlationChanges: { changedVariables: Array.isArray(changes) ? changes.map(String) : [] },
  }
}

/** Parses one results line; `source` and `line` only feed the error message. */
export function parseWireAnomalyState(text: string, source: string, line: number): AnomalyState {
  try {
    const raw: unknown = JSON.parse(text)
    if (!isRecord(raw) || typeof raw.timestamp !== 'string') throw new Error('expected an object with "timestamp"')
    const timestamp = parseIsoTimestamp(raw.timestamp)
    if (timestamp === undefined) throw new Error(`"${raw.timestamp}" is not an ISO 8601 timestamp`)
    const errors = Array.isArray(raw.errors)
      ? raw.errors.filter(isRecord).map((e) => ({ code: String(e.code), message: String(e.message) }))
      : []
    const v = raw.value
    if (v === undefined || v === null) return { timestamp, errors }
    if (!isRecord(v) || typeof v.isAnomaly !== 'boolean' || typeof v.score !== 'number') {
      throw new Error('"value" needs boolean "isAnomaly" and number "score"')
    }
    const value: AnomalyValue = {
      isAnomaly: v.isAnomaly,
      score: v.score,
      severity: typeof v.severity === 'number' ? v.severity : 0,
      interpretation: Array.isArray(v.interpretation) ? v.interpretation.map(parseContributor) : [],
    }
    return { timestamp, value, errors }
  } catch (err) {
    throw new ServiceError(
      'InvalidJsonFormat',
      `${source} line ${line}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    )
  }
}
