/** Runs the `mvad` CLI in-process (src/cli/program.ts) with captured output, as a shell would see it. */
import { Writable } from 'node:stream'
import { run } from '../../src/cli/program.js'

export class Capture extends Writable {
  text = ''
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString()
    done()
  }
}

export type CliOutcome = { code: number; stdout: string; stderr: string }

export function mvad(...argv: string[]): Promise<CliOutcome> {
  return mvadWith(undefined, ...argv)
}

/** `mvad` with `env` as its environment (REDIS_URL, …) instead of the process's. */
export async function mvadWith(env: Record<string, string> | undefined, ...argv: string[]): Promise<CliOutcome> {
  const stdout = new Capture()
  const stderr = new Capture()
  const code = await run(argv, { stdout, stderr, ...(env === undefined ? {} : { env }) })
  return { code, stdout: stdout.text, stderr: stderr.text }
}
