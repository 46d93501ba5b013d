/** Values of MVAD REST requests checked as MVAD answers them (times, topContributorCount, $skip / $top), and wording. */
import { MVAD_LIMITS } from '../../data/limits.js'
import { parseIsoTimestamp } from '../../data/timestamp.js'
import { ServiceError } from '../../errors.js'

function checkTime(text: string, field: 'startTime' | 'endTime'): number {
  const time = parseIsoTimestamp(text)
  if (time === undefined) {
    throw new ServiceError(
      'InvalidTimestampFormat',
      `Invalid timestamp format. The ${field} "${text}" is not ISO 8601.`,
    )
  }
  return time
}

/** Both times valid and in order, checked on the request (not later, in a job that would fail and stay FAILED). */
export function checkTimes(body: { startTime: string; endTime: string }): void {
  const start = checkTime(body.startTime, 'startTime')
  const end = checkTime(body.endTime, 'endTime')
  if (end < start) {
    throw new ServiceError(
      'InvalidRequestParameterError',
      `endTime (${body.endTime}) must not be before startTime (${body.startTime})`,
    )
  }
}

export function topContributors(value: number | undefined): number {
  const n = value ?? MVAD_LIMITS.defaultTopContributors
  if (n < MVAD_LIMITS.minTopContributors || n > MVAD_LIMITS.maxTopContributors) {
    throw new ServiceError('InvalidTopContributorCount', `topContributorCount must be between 1 and 30, got ${n}`)
  }
  return n
}

export function nonNegativeInt(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined) return fallback
  if (!/^\d+$/.test(raw)) {
    throw new ServiceError('InvalidRequestParameterError', `Invalid values for $skip or $top (${name}=${raw}).`)
  }
  return Number(raw)
}

/** "7 days", "12 hours", "90 s". */
export function duration(seconds: number): string {
  const unit = (n: number, name: string): string => `${n} ${name}${n === 1 ? '' : 's'}`
  if (seconds % 86_400 === 0) return unit(seconds / 86_400, 'day')
  if (seconds % 3_600 === 0) return unit(seconds / 3_600, 'hour')
  return `${seconds} s`
}
