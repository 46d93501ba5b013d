/** What every command gets: its output streams (injected so tests can run commands in-process). */
export interface CliContext {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WriteStream | NodeJS.WritableStream
}

export function seconds(startMs: number): number {
  return Math.round((performance.now() - startMs) / 10) / 100
}
