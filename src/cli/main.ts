#!/usr/bin/env node
/** `mvad` entry point: see ./program.ts for the commands and ./exit.ts for exit codes. */
import { run } from './program.js'
import { printProcessWarnings } from '../observability/process-warnings.js'

printProcessWarnings(process.stderr, process)

process.exitCode = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr })
