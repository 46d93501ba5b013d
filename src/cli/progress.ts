/**
 * Progress bars on stderr for long work; silent when stderr is not a terminal (pipes, CI logs) so output stays
 * machine-readable.
 */
import cliProgress from 'cli-progress'

export interface Progress {
  /** `fraction` in [0,1]. */
  update(fraction: number, stage: string): void
  stop(): void
}

const SILENT: Progress = { update: () => undefined, stop: () => undefined }

export function createProgress(title: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return SILENT
  const bar = new cliProgress.SingleBar(
    { stream, format: `${title} [{bar}] {percentage}% | {stage}`, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  )
  bar.start(1000, 0, { stage: '' })
  return {
    update: (fraction, stage) => bar.update(Math.round(Math.max(0, Math.min(1, fraction)) * 1000), { stage }),
    stop: () => bar.stop(),
  }
}
