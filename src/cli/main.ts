#!/usr/bin/env node
/** `mvad` entry point: see ./program.ts for the commands and ./exit.ts for exit codes. */
import { run } from './program.js'
import { printProcessWarnings } from '../observability/process-warnings.js'

printProcessWarnings(process.stderr, process)

// `mvad tune … | head -1`: a reader that stops early closes the pipe; stop quietly, as Unix tools do, instead of an
// unhandled EPIPE stack. Its status is 141 (128 + SIGPIPE), what a shell reports for a tool killed by SIGPIPE.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(141)
  throw error
})

process.exitCode = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr })
