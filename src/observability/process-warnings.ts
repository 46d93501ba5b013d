/**
 * Node prints process warnings to stderr as plain text, outside the JSON log stream. The service routes them into
 * the logger instead, so log shippers see one format and every warning keeps its name and stack; the CLI prints
 * them as one line each.
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
 * Replaces the default stderr printer of `target`'s 'warning' events (the process) by `onWarning`, told whether the
 * warning is the known kafkajs one.
 */
export function handleProcessWarnings(
  target: Pick<EventEmitter, 'on' | 'removeAllListeners'>,
  onWarning: (warning: Error, known: boolean) => void,
): void {
  target.removeAllListeners('warning')
  target.on('warning', (warning: Error) => onWarning(warning, isKnownKafkaJsTimeoutWarning(warning)))
}

/** The service's handler: warn-level records with name, message and stack; debug level for the known one. */
export function routeProcessWarnings(logger: Logger, target: Pick<EventEmitter, 'on' | 'removeAllListeners'>): void {
  handleProcessWarnings(target, (warning, known) => {
    if (known) logger.debug({ warning: warning.name, knownIssue: 'tulios/kafkajs#1751' }, warning.message)
    else logger.warn({ warning: warning.name, stack: warning.stack }, warning.message)
  })
}

/**
 * The CLI's handler: a shell user sees other warnings as one line on stderr, as Node would print them, and not
 * the known one (the control commands talk to Kafka).
 */
export function printProcessWarnings(
  stderr: { write(text: string): unknown },
  target: Pick<EventEmitter, 'on' | 'removeAllListeners'>,
): void {
  handleProcessWarnings(target, (warning, known) => {
    if (!known) stderr.write(`mvad: ${warning.name}: ${warning.message}\n`)
  })
}
