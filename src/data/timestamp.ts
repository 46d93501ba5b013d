/**
 * ISO 8601 timestamps ↔ epoch ms. Hand-rolled rather than `Date.parse` because `Date.parse` accepts non-ISO text
 * ("Jan 1 2024") and reads zone-less date-times as *local* time; MVAD data is UTC unless an offset says otherwise.
 */
import type { EpochMs } from '../domain/types.js'

// date [T|space time [.fraction]] [Z|±HH[:MM]]
const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const

/** Parses an ISO 8601 timestamp (zone-less = UTC) to epoch ms; `undefined` when the text is not one. */
export function parseIsoTimestamp(text: string): EpochMs | undefined {
  const m = ISO_RE.exec(text.trim())
  if (m === null) return undefined
  const year = Number(m[1])
  const month = Number(m[2])
  const day = Number(m[3])
  const hour = m[4] === undefined ? 0 : Number(m[4])
  const minute = m[5] === undefined ? 0 : Number(m[5])
  const second = m[6] === undefined ? 0 : Number(m[6])
  const millis = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000 + 1e-6)
  if (month < 1 || month > 12 || day < 1 || day > (DAYS_IN_MONTH[month - 1] ?? 0)) return undefined
  if (month === 2 && day === 29 && !isLeapYear(year)) return undefined
  if (hour > 23 || minute > 59 || second > 59) return undefined
  let offsetMinutes = 0
  const zone = m[8]
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1
    const digits = zone.slice(1).replace(':', '')
    const oh = Number(digits.slice(0, 2))
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0
    if (oh > 23 || om > 59) return undefined
    offsetMinutes = sign * (oh * 60 + om)
  }
  // Not Date.UTC: it reads years 0–99 as 1900–1999.
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(hour, minute, second, millis)
  return date.getTime() - offsetMinutes * 60_000
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
}

/**
 * Median gap between consecutive timestamps (of the first 1,000): the data's sampling step, or undefined with fewer
 * than two.
 */
export function medianStep(timestamps: readonly EpochMs[]): number | undefined {
  const steps: number[] = []
  for (let i = 1; i < Math.min(timestamps.length, 1001); i++) {
    steps.push((timestamps[i] as number) - (timestamps[i - 1] as number))
  }
  if (steps.length === 0) return undefined
  steps.sort((a, b) => a - b)
  return steps[steps.length >> 1]
}

/** MVAD's wire format: `2021-01-02T02:29:00Z`; milliseconds only when non-zero so sub-second data stays distinct. */
export function formatIsoTimestamp(ms: EpochMs): string {
  const iso = new Date(ms).toISOString()
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso
}
