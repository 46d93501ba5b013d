/**
 * What one instance takes on at once from the REST API, so a burst of requests cannot take the pod down with it (its
 * stream partitions and jobs too):
 * - detect-last bodies in flight, by bytes: MVAD's largest request is 38 MiB of JSON and takes about 0.5 GB while it
 *   is parsed, aligned and scored. A request is let in while the bodies in flight stay within the budget — or when
 *   none is in flight, so a request the body limit allows always gets through alone.
 * - data held on disk: a train or detect-batch request whose dataSource is downloaded or unpacked into the data
 *   folder keeps it there until its job ends, however long it waits in the queue.
 * Over either, the answer is 429 TooManyRequests with Retry-After, which Azure's SDKs retry by themselves.
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { ServiceError } from '../../errors.js'

/** A request's data folder: its id (a UUID, as the API makes them), then `-unzipped` for a zip's contents. */
const REQUEST_DATA = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:-unzipped)?$/

export interface AdmissionLimits {
  /** Bytes of detect-last bodies in flight at once (a request alone is always let in). */
  bodyBytesInFlight: number
  /** The server's body limit: what a body of unknown length counts as, and the most one body counts. */
  bodyLimitBytes: number
  /** REST requests whose data may be held in the data folder at once. */
  heldDownloads: number
}

/** What a folder left in the data folder belongs to (startup): a job still to run, one that ended, or none known. */
export type HeldDataOwner = 'live' | 'ended' | 'unknown'

export class RestAdmission {
  readonly #limits: AdmissionLimits
  #bytesInFlight = 0
  #bodiesInFlight = 0
  /** Requests holding data in the data folder (or about to): from reservation until their job ends. */
  readonly #held = new Set<string>()
  /** Of those, the ones whose request is still being answered (no job yet to ask about). */
  readonly #answering = new Set<string>()
  /** Data found at start that no job knows yet, by when it may be removed (it may be a download in progress). */
  readonly #unclaimedUntil = new Map<string, number>()

  constructor(limits: AdmissionLimits) {
    this.#limits = limits
  }

  /** Lets a body of `declaredBytes` (undefined: unknown length) in, or throws TooManyRequests; returns its release. */
  admitBody(declaredBytes: number | undefined): () => void {
    const bytes = Math.min(declaredBytes ?? this.#limits.bodyLimitBytes, this.#limits.bodyLimitBytes)
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
   * Reserves room in the data folder for request `id`, or throws TooManyRequests. Held until `releaseHeld(id)`: when
   * the request turns out to need no room (a local file read in place), when it fails (its files are removed), or
   * when its job ends (the job's files are removed).
   */
  reserveHeld(id: string): void {
    if (this.#held.size >= this.#limits.heldDownloads) {
      throw new ServiceError(
        'TooManyRequests',
        `this instance holds the data of ${this.#held.size} request(s) whose jobs have not ended ` +
          `(MVAD_REST_MAX_HELD_DOWNLOADS ${this.#limits.heldDownloads}); retry when one has finished`,
      )
    }
    this.#held.add(id)
    this.#answering.add(id)
  }

  /** The request was answered: its data, if it is still held, is now its job's. */
  answered(id: string): void {
    this.#answering.delete(id)
  }

  releaseHeld(id: string): void {
    this.#held.delete(id)
    this.#answering.delete(id)
    this.#unclaimedUntil.delete(id)
  }

  /**
   * Lets go of data whose job has ended without this instance being told (another instance's sweep failed it after
   * this one restarted, or its record expired): its files are removed. Run now and then (the health check).
   */
  async reconcile(
    ownerOf: (id: string) => Promise<HeldDataOwner>,
    remove: (id: string) => Promise<void>,
  ): Promise<void> {
    for (const id of [...this.#held]) {
      if (this.#answering.has(id)) continue
      const owner = await ownerOf(id)
      if (owner === 'live') {
        this.#unclaimedUntil.delete(id)
        continue
      }
      if (owner === 'unknown' && Date.now() < (this.#unclaimedUntil.get(id) ?? 0)) continue
      await remove(id)
      this.releaseHeld(id)
    }
  }

  get heldCount(): number {
    return this.#held.size
  }

  /**
   * At start, takes stock of the request data a previous run left in the data folder (a container restart keeps a
   * pod's volume): the data of jobs still to run is held again; that of ended jobs is removed, and so is data no job
   * knows once it is older than `orphanAgeMs` (a request that crashed before its job was queued). Younger data may be
   * another instance's download in progress on a shared folder: held, and removed by reconcile when it comes of age
   * with still no job. Names the API does not make are left alone.
   */
  async adoptLeftovers(
    dataDir: string,
    ownerOf: (id: string) => Promise<HeldDataOwner>,
    remove: (id: string) => Promise<void>,
    orphanAgeMs: number,
  ): Promise<{ held: string[]; removed: string[] }> {
    let names: string[]
    try {
      names = await readdir(dataDir)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { held: [], removed: [] }
      throw error
    }
    const held: string[] = []
    const removed: string[] = []
    // Only what the API writes there: `<uuid>` and `<uuid>-unzipped` (one request's). Anything else is not ours.
    const ids = names.flatMap((name) => REQUEST_DATA.exec(name)?.[1] ?? [])
    for (const id of new Set(ids)) {
      const owner = await ownerOf(id)
      if (owner === 'ended') {
        await remove(id)
        removed.push(id)
        continue
      }
      if (owner === 'unknown') {
        const modified = await stat(join(dataDir, names.includes(id) ? id : `${id}-unzipped`)).then(
          (s) => s.mtimeMs,
          () => 0,
        )
        if (Date.now() - modified >= orphanAgeMs) {
          await remove(id)
          removed.push(id)
          continue
        }
        // Held, and removed by reconcile once it is that old and still no job's.
        this.#unclaimedUntil.set(id, modified + orphanAgeMs)
      }
      this.#held.add(id)
      held.push(id)
    }
    return { held, removed }
  }
}

/**
 * Route hooks that let a request's body in before it is read (429 by the API's error handler otherwise) and free its
 * bytes once it is answered or aborted.
 */
export function bodyAdmissionHooks(admission: RestAdmission): {
  onRequest: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
  onResponse: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
  onRequestAbort: (request: FastifyRequest, done: HookHandlerDoneFunction) => void
} {
  const releases = new WeakMap<FastifyRequest, () => void>()
  return {
    onRequest(request, _reply, done) {
      const declared = Number(request.headers['content-length'])
      try {
        releases.set(request, admission.admitBody(Number.isFinite(declared) && declared >= 0 ? declared : undefined))
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
