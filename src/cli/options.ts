/** Option parsers for commander: each rejects bad values with a message naming the accepted range (exit code 2). */
import { InvalidArgumentError } from 'commander'
import { ALIGN_MODES, FILL_NA_METHODS, type AlignMode, type FillNAMethod } from '../domain/types.js'
import { parseIsoTimestamp } from '../data/timestamp.js'
import { MVAD_LIMITS } from '../data/limits.js'

/** Written as people write numbers on a command line: decimal, no 0x/0b/0o prefix, no Infinity. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/
const INTEGER = /^[+-]?\d+$/

export function intInRange(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!INTEGER.test(value.trim()) || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer between ${min} and ${max}`)
    }
    return n
  }
}

export const parseSlidingWindow = intInRange(MVAD_LIMITS.minSlidingWindow, MVAD_LIMITS.maxSlidingWindow)
export const parseTopContributors = intInRange(MVAD_LIMITS.minTopContributors, MVAD_LIMITS.maxTopContributors)

export function parseNumber(value: string): number {
  const n = Number(value)
  if (!DECIMAL.test(value.trim()) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a decimal number')
  return n
}

export function parseTimestampOption(value: string): number {
  const ms = parseIsoTimestamp(value)
  if (ms === undefined) throw new InvalidArgumentError('expected an ISO 8601 timestamp, e.g. 2024-01-01T00:00:00Z')
  return ms
}

function oneOf<T extends string>(allowed: readonly T[]): (value: string) => T {
  return (value) => {
    const match = allowed.find((a) => a === value)
    if (match === undefined) throw new InvalidArgumentError(`expected one of ${allowed.join(', ')} (case-sensitive)`)
    return match
  }
}

const JOB_STATUSES = ['CREATED', 'RUNNING', 'READY', 'FAILED'] as const

/** `--status`: a job status in any case (`failed` as `FAILED`). */
export function parseJobStatus(value: string): (typeof JOB_STATUSES)[number] {
  const match = JOB_STATUSES.find((s) => s === value.trim().toUpperCase())
  if (match === undefined) throw new InvalidArgumentError(`expected one of ${JOB_STATUSES.join(', ')}`)
  return match
}

export const parseAlignMode: (value: string) => AlignMode = oneOf(ALIGN_MODES)
export const parseFillNAMethod: (value: string) => FillNAMethod = oneOf(FILL_NA_METHODS)

/** `--param` values given so far, and what was wrong with the others (reported together by modelParamsFrom). */
export interface ParamArgs {
  readonly values: Readonly<Record<string, number>>
  readonly problems: readonly string[]
}

/**
 * `--param name=value`, repeatable: collects model parameters (numbers) into one object. A malformed one is noted,
 * not thrown, so that every problem is reported at once with the model's own name and range checks (see
 * modelParamsFrom in ./commands/train.ts).
 */
export function collectParam(value: string, previous: ParamArgs = { values: {}, problems: [] }): ParamArgs {
  const problem = (message: string): ParamArgs => ({ ...previous, problems: [...previous.problems, message] })
  const match = /^\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(\S.*)$/.exec(value)
  if (match === null) return problem(`'${value}': expected name=value, e.g. noveltyHold=1`)
  const [, name, raw] = match as unknown as [string, string, string]
  const n = Number(raw)
  if (!DECIMAL.test(raw.trim()) || !Number.isFinite(n))
    return problem(`expected a decimal number for ${name}, got '${raw}'`)
  if (Object.hasOwn(previous.values, name)) return problem(`${name} is given twice`)
  return { ...previous, values: { ...previous.values, [name]: n } }
}
