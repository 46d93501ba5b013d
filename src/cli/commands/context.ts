/** What every command gets: its output streams (injected so tests can run commands in-process). */
export interface CliContext {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WriteStream | NodeJS.WritableStream
  /** Environment for commands that reach the service's stores (REDIS_URL, …); defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>
}

export function seconds(startMs: number): number {
  return Math.round((performance.now() - startMs) / 10) / 100
}
