/** What the job handlers use: stores, the topic reader, the results sink, and where charts go. */
import type { ResultStore } from '../../state/result-store.js'
import type { SourceDeps } from '../sources.js'

/** Publishes detect-batch result rows to a topic (acks=all). */
export interface ResultsSink {
  publish(topic: string, messages: { key: string; value: string }[]): Promise<void>
}

export interface HandlerDeps extends SourceDeps {
  results: ResultStore
  resultsSink: ResultsSink
  /** Folder for charts asked for by train and detect-batch jobs. */
  chartsDir: string
  /** How long detect-batch results are kept (MVAD: 7 days). */
  resultTtlSeconds: number
}
