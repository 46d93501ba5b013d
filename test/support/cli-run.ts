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

export async function mvad(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Capture()
  const stderr = new Capture()
  const code = await run(argv, { stdout, stderr })
  return { code, stdout: stdout.text, stderr: stderr.text }
}
