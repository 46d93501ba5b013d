import type { CliContext } from './context.js'
export interface TuneOptions {
  train: string
  validation: string
  labels: string
  out: string
}
export async function tuneCommand(_opts: TuneOptions, _ctx: CliContext): Promise<void> {
  await Promise.resolve()
  throw new Error('tune: not implemented yet')
}
