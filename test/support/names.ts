import { randomBytes } from 'node:crypto'

/** A prefix unique to one test, for topics, consumer groups and Redis keys, so tests never see each other's data. */
export function uniquePrefix(label: string): string {
  return `t-${label}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
}
