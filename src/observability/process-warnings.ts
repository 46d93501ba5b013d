/**
 * Node prints process warnings to stderr as plain text, outside the JSON log stream. The service routes them into
 * the logger instead, so log shippers see one format and every warning keeps its name and stack.
 *
 * One warning is known and harmless: kafkajs 2.2.4 schedules its request-queue check with a delay computed from a
 * zero "throttled until" timestamp, which Node 24 reports as TimeoutNegativeWarning (tulios/kafkajs#1751; the fix,
 * kafkajs#1755 / #1756, is unreleased). Node then uses 1 ms, which is what kafkajs meant, so it is logged at debug.
 */
import type { EventEmitter } from 'node:events'
import type { Logger } from './logger.js'

/** Recognises the kafkajs request-queue TimeoutNegativeWarning by its name and its stack. */
export function isKnownKafkaJsTimeoutWarning(warning: Error): boolean {
  return warning.name === 'TimeoutNegativeWarning' && /[\\/]kafkajs[\\/]/.test(warning.stack ?? '')
}

/**
 * Replaces the default stderr printer of `target`'s 'warning' events (the process, in the service) by log records:
 * warn level with name, message and stack; debug level for the known kafkajs warning.
 */
export function routeProcessWarnings(logger: Logger, target: Pick<EventEmitter, 'on' | 'removeAllListeners'>): void {
  target.removeAllListeners('warning')
  target.on('warning', (warning: Error) => {
    if (isKnownKafkaJsTimeoutWarning(warning)) {
      logger.debug({ warning: warning.name, knownIssue: 'tulios/kafkajs#1751' }, warning.message)
      return
    }
    logger.warn({ warning: warning.name, stack: warning.stack }, warning.message)
  })
}
