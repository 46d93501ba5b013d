/**
 * Exit codes and error messages of the `mvad` CLI:
 * 0 ok · 1 internal error (a bug: please report) · 2 usage error (bad flags) · 3 bad input data, or a job the
 * service ran ended FAILED (`error <Code>: …`).
 */
import { CommanderError } from 'commander'
import { isServiceError, type ErrorCode } from '../errors.js'

export const EXIT = { ok: 0, internal: 1, usage: 2, badInput: 3 } as const
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

const INTERNAL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['Internal', 'UnexpectedError'])

/** Prints the error for a shell user and returns the exit code. */
export function reportError(err: unknown, stderr: NodeJS.WritableStream = process.stderr): ExitCode {
  if (err instanceof CommanderError) {
    // commander already printed its message; --help/--version exit 0, help shown for a missing command does not.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage
  }
  if (err instanceof UsageError) {
    stderr.write(`error: ${err.message}\n`)
    return EXIT.usage
  }
  if (err instanceof JobFailed || (isServiceError(err) && !INTERNAL_CODES.has(err.code))) {
    stderr.write(`error ${err.code}: ${err.message}\n`)
    return EXIT.badInput
  }
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err)
  stderr.write(`internal error (this is a bug, please report it with the command you ran):\n${detail}\n`)
  return EXIT.internal
}

/** A usage problem found after flag parsing (e.g. an unsupported output extension): exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/**
 * A job the service ran ended FAILED: exit 3 with the job's own error, whatever its code. `UnexpectedError` there is
 * the service's report of its own fault, already recorded on the job; it is not a bug of this CLI run, and the CLI's
 * stack would say nothing about it.
 */
export class JobFailed extends Error {
  override name = 'JobFailed'
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}
