/**
 * What one instance takes on at once from the REST API, so a burst of requests cannot take the pod down with it (its
 * stream partitions and jobs too):
 * - detect-last bodies in flight, by bytes: MVAD's largest request is 38 MiB of JSON and takes about 0.5 GB while it
 *   is parsed, aligned and scored. A request is let in while the bodies in flight stay within the budget — or when
 *   none is in flight, so a request the body limit allows always gets through alone.
 * - downloaded data held on disk: a train or detect-batch request with an http(s) dataSource keeps its download (and
 *   a zip's unpacked copy) in the data folder until its job ends, however long it waits in the queue.
 * Over either, the answer is 429 TooManyRequests with Retry-After, which Azure's SDKs retry by themselves.
 */
import { readdir } from 'node:fs/promises'
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { ServiceError } from '../../errors.js'

export interface AdmissionLimits {
  /** Bytes of detect-last bodies in flight at once (a request alone is always let in). */
  bodyBytesInFlight: number
  /** REST requests whose downloaded data may be held in the data folder at once. */
  heldDownloads: number
  dataDir: string
}

export class RestAdmission {
  readonly #limits: AdmissionLimits
  #bytesInFlight = 0
  #bodiesInFlight = 0
  /** Ids whose download is under way (their folder may not exist yet). */
  readonly #downloading = new Set<string>()

  constructor(limits: AdmissionLimits) {
    this.#limits = limits
  }

  /**
   * Lets a request body of `bytes` in, or throws TooManyRequests; the caller releases what it was given. `bytes` is
   * the Content-Length, or the body limit for a body of unknown length.
   */
  admitBody(bytes: number): () => void {
    if (this.#bodiesInFlight > 0 && this.#bytesInFlight + bytes > this.#limits.bodyBytesInFlight) {
      throw new ServiceError(
        'TooManyRequests',
        `this instance is detecting on ${this.#bodiesInFlight} other request(s) (${this.#bytesInFlight} bytes, ` +
          `MVAD_REST_BODY_BYTES_IN_FLIGHT ${this.#limits.bodyBytesInFlight}); retry after a moment`,
      )
    }
    this.#bodiesInFlight++
    this.#bytesInFlight += bytes
    let released = false
    return () => {
      if (released) return
      released = true
      this.#bodiesInFlight--
      this.#bytesInFlight -= bytes
    }
  }

  /**
   * Reserves room for the download of request `id`, or throws TooManyRequests when the data folder already holds as
   * many requests' data as allowed. Released (`done`) once the download is in its folder or removed: from then on the
   * folder itself counts, until the job that reads it ends and removes it.
   */
  async reserveDownload(id: string): Promise<() => void> {
    const held = new Set([...(await this.#heldIds()), ...this.#downloading])
    if (held.size >= this.#limits.heldDownloads) {
      throw new ServiceError(
        'TooManyRequests',
        `this instance holds the downloaded data of ${held.size} request(s) whose jobs have not ended ` +
          `(MVAD_REST_MAX_HELD_DOWNLOADS ${this.#limits.heldDownloads}); retry when one has finished`,
      )
    }
    this.#downloading.add(id)
    return () => this.#downloading.delete(id)
  }

  /** Requests with data in the folder: `<id>` and `<id>-unzipped` are one request's. */
  async #heldIds(): Promise<Set<string>> {
    let names: string[]
    try {
      names = await readdir(this.#limits.dataDir)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Set()
      throw error
    }
    return new Set(names.map((name) => name.replace(/-unzipped$/, '')))
  }
}

/**
 * Route hooks that let a request's body in before it is read (429 by the API's error handler otherwise) and free its
 * bytes once it is answered or aborted. `bodyLimitBytes` counts for a body of unknown length.
 */
export function bodyAdmissionHooks(
  admission: RestAdmission,
  bodyLimitBytes: number,
): {
  onRequest: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
  onResponse: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
  onRequestAbort: (request: FastifyRequest, done: HookHandlerDoneFunction) => void
} {
  const releases = new WeakMap<FastifyRequest, () => void>()
  return {
    onRequest(request, _reply, done) {
      const declared = Number(request.headers['content-length'])
      const bytes = Number.isFinite(declared) && declared >= 0 ? declared : bodyLimitBytes
      try {
        releases.set(request, admission.admitBody(bytes))
      } catch (error) {
        done(error as Error)
        return
      }
      done()
    },
    onResponse(request, _reply, done) {
      releases.get(request)?.()
      done()
    },
    onRequestAbort(request, done) {
      releases.get(request)?.() // released once: a response may still follow
      done()
    },
  }
}
