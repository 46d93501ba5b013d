/** What the job handlers use: stores, the topic reader, the results sink, and where charts go. */
import { withoutQuery } from '../../domain/redact.js'
import { ServiceError } from '../../errors.js'
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
  /** The service's own topics, which detect-batch's output.topic must not name (rows there would be taken as input). */
  reservedTopics?: readonly { topic: string; role: string }[]
}

/**
 * A failure of a job whose file was fetched or unpacked for a REST request, naming the request's dataSource where
 * the message names the server folder it went to (callers know their URL or zip, not our data folder). An http(s)
 * URL is named without its query: `https://…/folder/x03.csv line 6`, no SAS token in stored errors or logs.
 */
export function inRequestTerms(
  failure: ServiceError,
  command: { source: { kind: string; path?: string }; dataSource?: string },
): ServiceError {
  const internal = command.source.kind === 'file' ? command.source.path : undefined
  const given = command.dataSource
  if (internal === undefined || given === undefined || internal === given || !failure.message.includes(internal)) {
    return failure
  }
  // Without the URL's query: a SAS token is a secret, and a file of a folder reads better before it than after.
  return new ServiceError(failure.code, failure.message.replaceAll(internal, withoutQuery(given)), {
    cause: failure,
    retriable: failure.retriable,
  })
}
