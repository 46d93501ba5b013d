/**
 * The partition worker: scores every completed frame of the entities on one Kafka partition.
 *
 * ORDER OF WORK for each batch of messages (the commit order; tested in test/unit/stream/partition-worker.test.ts):
 *   1. decode; bad records (malformed, wrong shape, unknown entity/variable, non-finite, out-of-bounds, late)
 *      become dead letters with a reason — the partition keeps flowing;
 *   2. per entity: skip readings already covered by the stored window (replay after a crash/rebalance), gather the
 *      rest into frames, fill, append to the window and score detect-last for each completed frame;
 *   3. PERSIST the window state: new rows + the Kafka offset they cover + the events computed from them, in one
 *      atomic append guarded by the offset we last saw (another owner's write makes us reload and redo the entity);
 *   4. PRODUCE the events and dead letters and wait for the acknowledgement;
 *   5. clear the persisted pending events (they are acknowledged);
 *   6. return the offset to COMMIT: the oldest reading still waiting in an incomplete frame, else the batch end.
 * IDLE FLUSH: an entity not in the batch whose incomplete frames have waited `frameIdleFlushMs` (the batch's newest
 * Kafka timestamp past the entity's last reading) has them scored in step 2, missing values filled, so a silent
 * entity does not hold the partition's commit; a reading of such a frame arriving later is dead-lettered as late.
 * SHADOW: an entity whose binding names a shadow model has each frame scored by the shadow too, on the same window
 * (kept as long as the longer of the two models needs); shadow events carry `shadow: true` and their own eventId
 * (the model differs) and are persisted, produced and replayed exactly like the default's.
 * A crash after 3 and before 4 is recovered on the next load of the entity: its persisted pending events are
 * produced again with the same deterministic eventIds. Readings are never counted twice in a window: a reading
 * whose offset is covered and whose timestamp is not after the window's last frame is a replay and is skipped.
 */
import type { EpochMs } from '../domain/types.js'
import { ServiceError } from '../errors.js'
import type { WindowStore } from '../state/window-store.js'
import { toAnomalyEvent, type AnomalyEvent } from './anomaly-event.js'
import { carriedItem, groupByEntity, rejectedDeadLetters, withRejected, type EntityItem } from './batch-decode.js'
import { FrameAssembler, fillMissing, missingVariables, type PendingReading } from './frame-assembler.js'
import { shadowWindow, type LoadedModel, type ModelResolver, type ShadowModel } from './model-runtime.js'
import {
  isWindowDeadLetter,
  parsePendingOutput,
  storedDeadLetter,
  storedEvent,
  withoutRepeats,
} from './pending-output.js'
import type {
  DeadLetter,
  DeadLetterReason,
  InputMessage,
  OutgoingEvent,
  PartitionWorkerOptions,
  WorkerObserver,
  WorkerSink,
} from './worker-types.js'

export type * from './worker-types.js'

interface EntityState {
  model: LoadedModel
  shadow: ShadowModel | undefined
  /** Rows kept: the longer sliding window of the default and the shadow. */
  windowLength: number
  assembler: FrameAssembler
  timestamps: EpochMs[]
  rows: Float64Array[]
  coveredOffset: bigint
  /** False until the stored window is known to exist (first append replaces). */
  persisted: boolean
  /**
   * The events stored as pending with the window and not yet acknowledged by the sink (persisted by an earlier
   * writer, or by this worker for a batch whose publish or clear failed): produced again with the next batch, and
   * emptied only once their acknowledgement is cleared from the store.
   */
  unacknowledged: string[]
  /** Kafka timestamp of the newest message that gave this entity a reading (for the idle flush). */
  lastIngest: EpochMs
}

export class PartitionWorker {
  readonly #windows: WindowStore
  readonly #models: ModelResolver
  readonly #sink: WorkerSink
  readonly #options: PartitionWorkerOptions
  readonly #observer: WorkerObserver | undefined
  readonly #entities = new Map<string, EntityState>()
  /**
   * Readings that were waiting in an incomplete frame when their entity's state was dropped (binding change, lost
   * write race): fed again, before anything newer, when the entity is next processed, and counted by commitOffset
   * until then — they are not read from Kafka again.
   */
  readonly #carried = new Map<string, PendingReading[]>()
  /** Counts forget calls: a state loaded while one came in may hold the old binding's model (see #entityState). */
  #forgets = 0

  constructor(deps: {
    windows: WindowStore
    models: ModelResolver
    sink: WorkerSink
    options: PartitionWorkerOptions
    observer?: WorkerObserver
  }) {
    this.#windows = deps.windows
    this.#models = deps.models
    this.#sink = deps.sink
    this.#options = deps.options
    this.#observer = deps.observer
  }

  /**
   * Drops in-memory state of an entity (binding changed): the next batch reloads model and window. Readings waiting
   * in an incomplete frame are carried over to it.
   */
  forget(entity: string): void {
    this.#forgets++
    const state = this.#entities.get(entity)
    if (state === undefined) return
    this.#carry(entity, state.assembler.takePending(state.model.variables))
    this.#entities.delete(entity)
  }

  #carry(entity: string, readings: readonly PendingReading[]): void {
    if (readings.length === 0) return
    this.#carried.set(entity, [...(this.#carried.get(entity) ?? []), ...readings])
  }

  get entityCount(): number {
    return this.#entities.size
  }

  /** The entities this worker holds state for. */
  get entities(): string[] {
    return [...this.#entities.keys()]
  }

  /** Frames waiting for readings, over every entity of the partition (they hold its commit while they wait). */
  get pendingFrameCount(): number {
    let pending = 0
    for (const state of this.#entities.values()) pending += state.assembler.pendingFrames
    return pending
  }

  /** Processes one batch (all from this worker's partition, in offset order); returns the offset to commit. */
  async processBatch(messages: readonly InputMessage[]): Promise<bigint | undefined> {
    if (messages.length === 0) return undefined
    const { byEntity, deadLetters } = await groupByEntity(messages, this.#options)

    // Entities are independent (own window, own keys): their window appends run concurrently; results are
    // gathered in first-seen order (then the idle ones) so the output of a batch is deterministic.
    const idle = this.#idleEntities(messages, byEntity)
    const entities = [...byEntity, ...idle.map((entity): [string, []] => [entity, []])]
    const outcomes = await Promise.all(
      entities.map(([entity, items], i) => this.#processEntity(entity, items, i >= byEntity.size)),
    )
    const events: OutgoingEvent[] = []
    const acknowledged: { entity: string; coveredOffset: bigint }[] = []
    const ingestTimes: EpochMs[] = []
    outcomes.forEach((outcome, i) => {
      // Appended one by one: push(...items) fails (call stack) past ~120,000 items, and one compressed fetch can hold
      // that many readings of one entity.
      for (const letter of outcome.deadLetters) deadLetters.push(letter)
      if (outcome.persisted === undefined) return
      for (const event of outcome.persisted.events) events.push(event)
      for (const time of outcome.persisted.ingestTimes) ingestTimes.push(time)
      acknowledged.push({
        entity: (entities[i] as [string, unknown])[0],
        coveredOffset: outcome.persisted.coveredOffset,
      })
    })

    await this.#sink.publish(events, deadLetters)
    const now = Date.now()
    for (const ingest of ingestTimes) this.#observer?.endToEndSeconds((now - ingest) / 1000)
    this.#observer?.readings('dead_lettered', deadLetters.length)
    if (acknowledged.length > 0) {
      const started = performance.now()
      await this.#windows.clearPendingEvents(acknowledged)
      this.#observer?.windowStoreSeconds('clear', (performance.now() - started) / 1000)
      for (const { entity, coveredOffset } of acknowledged) {
        const state = this.#entities.get(entity)
        if (state !== undefined && state.coveredOffset === coveredOffset) state.unacknowledged = []
      }
    }
    return this.commitOffset(messages)
  }

  /** Entities outside this batch whose incomplete frames have waited frameIdleFlushMs by the batch's Kafka time. */
  #idleEntities(messages: readonly InputMessage[], inBatch: ReadonlyMap<string, unknown>): string[] {
    const idleMs = this.#options.frameIdleFlushMs ?? 0
    if (idleMs <= 0) return []
    let newest = Number.NEGATIVE_INFINITY
    for (const message of messages) if (message.kafkaTimestamp > newest) newest = message.kafkaTimestamp
    const idle: string[] = []
    for (const [entity, state] of this.#entities) {
      if (state.assembler.pendingFrames > 0 && !inBatch.has(entity) && newest - state.lastIngest > idleMs)
        idle.push(entity)
    }
    return idle
  }

  /** The oldest offset still needed (a reading waiting in an incomplete frame), else the batch end. */
  commitOffset(messages: readonly InputMessage[]): bigint {
    let commit = (messages[messages.length - 1] as InputMessage).offset + 1n
    for (const state of this.#entities.values()) {
      const pending = state.assembler.oldestPendingOffset()
      if (pending !== undefined && pending < commit) commit = pending
    }
    for (const readings of this.#carried.values()) {
      for (const reading of readings) if (reading.offset < commit) commit = reading.offset
    }
    return commit
  }

  async #processEntity(
    entity: string,
    items: EntityItem[],
    flushIdle: boolean,
  ): Promise<{
    deadLetters: DeadLetter[]
    persisted?: { events: OutgoingEvent[]; coveredOffset: bigint; ingestTimes: EpochMs[] }
  }> {
    // One retry after a lost race: another owner appended, so reload the stored window and redo this entity.
    for (let attempt = 0; attempt < 2; attempt++) {
      const deadLetters: DeadLetter[] = []
      const state = await this.#entityState(entity)
      const carried = this.#carried.get(entity) ?? []
      const fed = carried.length === 0 ? items : [...carried.map((r) => carriedItem(entity, r)), ...items]
      if (state === undefined) {
        const detail = this.#models.unresolvedReason(entity) ?? `entity "${entity}" is bound to no READY model`
        for (const { message } of fed) deadLetters.push({ message, reason: 'unknown_entity', detail })
        this.#carried.delete(entity)
        return { deadLetters }
      }
      // Output persisted earlier and not acknowledged since (a failed publish, a crash): published again.
      const replay = parsePendingOutput(entity, state.unacknowledged)
      // Kept in case another owner's write makes this attempt void: they go back to the carried readings.
      const waiting = state.assembler.pendingReadings(state.model.variables)
      const result = this.#assembleAndScore(entity, state, fed, deadLetters, flushIdle)
      const made = withoutRepeats(deadLetters, replay.deadLetters)
      const letters = [...replay.deadLetters, ...made]
      // A window not written yet (a new one, or one replacing a window of another layout) that gained no frame:
      // nothing is written, so the stored window keeps saying what it says (for a replaced one, the last frame its
      // model scored, which a reload needs). Its pending output goes out again and is cleared as usual.
      if (!state.persisted && result.newTimestamps.length === 0) {
        this.#carried.delete(entity)
        return {
          deadLetters: letters,
          persisted: { events: replay.events, coveredOffset: state.coveredOffset, ingestTimes: [] },
        }
      }
      const pendingEvents = [
        ...state.unacknowledged,
        ...result.events.map(storedEvent),
        ...made.filter(isWindowDeadLetter).map(storedDeadLetter),
      ]
      const started = performance.now()
      const appended = await this.#windows.append(entity, state.windowLength, {
        modelKey: state.model.layoutKey,
        expectedCoveredOffset: state.coveredOffset,
        replace: !state.persisted,
        timestamps: state.persisted ? result.newTimestamps : state.timestamps,
        rows: state.persisted ? result.newRows : state.rows,
        coveredOffset: result.coveredOffset,
        pendingEvents,
      })
      this.#observer?.windowStoreSeconds('append', (performance.now() - started) / 1000)
      if (appended.ok) {
        state.coveredOffset = result.coveredOffset
        state.persisted = true
        state.unacknowledged = pendingEvents // until processBatch has them acknowledged and cleared
        this.#carried.delete(entity)
        return {
          deadLetters: letters,
          persisted: {
            events: [...replay.events, ...result.events],
            coveredOffset: result.coveredOffset,
            ingestTimes: result.ingestTimes,
          },
        }
      }
      // Another owner's write leaves the stored window ahead of ours; one that is behind means the store lost writes
      // it had acknowledged (Redis back with older data): redoing this entity on the older window would leave a hole
      // in it, so the partition is read again (stream-service.ts). A window that is gone expired after its idle TTL
      // or was deleted: reloaded and redone as before.
      if (
        state.persisted &&
        appended.currentCoveredOffset >= 0n &&
        appended.currentCoveredOffset < state.coveredOffset
      ) {
        throw new ServiceError(
          'StoreBehind',
          `window of entity "${entity}" is stored at offset ${appended.currentCoveredOffset}, behind the ` +
            `${state.coveredOffset} this worker wrote: the window store lost acknowledged writes`,
          { retriable: true },
        )
      }
      // The dead letters of this attempt are dropped with it (the retry redoes them); the readings that were waiting
      // before it are not: they were read from Kafka in earlier batches.
      this.#entities.delete(entity)
      this.#carry(entity, waiting)
    }
    throw new ServiceError('RedisError', `window of entity "${entity}" keeps changing under us (two owners?)`, {
      retriable: true,
    })
  }

  #assembleAndScore(
    entity: string,
    state: EntityState,
    items: EntityItem[],
    deadLetters: DeadLetter[],
    flushIdle: boolean,
  ): {
    newTimestamps: EpochMs[]
    newRows: Float64Array[]
    events: OutgoingEvent[]
    coveredOffset: bigint
    ingestTimes: EpochMs[]
  } {
    const { model, assembler } = state
    // The last frame scored for the entity (its window's newest, or, after a model with other variables replaced
    // the window, the replaced window's newest).
    const lastTimestamp = assembler.lastEmitted
    let accepted = 0
    let replayed = 0
    const ingestTimes = new Map<EpochMs, EpochMs>()
    for (const { message, readings } of items) {
      // One dead letter per message and reason, naming every variable of a frame it concerns (made only when a
      // reading is refused: this loop runs for every message).
      let rejected: Map<DeadLetterReason, string[]> | undefined
      for (const reading of readings) {
        // Before the replay check: a replayed batch whose dead letters were never acknowledged produces them again.
        if (!assembler.hasVariable(reading.variable)) {
          rejected = withRejected(rejected, 'unknown_variable', reading.variable)
          continue
        }
        if (reading.offset <= state.coveredOffset && reading.timestamp <= lastTimestamp) {
          replayed++
          continue
        }
        const late = assembler.add(reading)
        if (late !== undefined) {
          rejected = withRejected(rejected, late.reason, reading.variable)
          continue
        }
        accepted++
        if (message.kafkaTimestamp > state.lastIngest) state.lastIngest = message.kafkaTimestamp
        // The frame is complete when its last reading arrives: latency counts from the latest ingest.
        const seen = ingestTimes.get(reading.timestamp)
        if (seen === undefined || message.kafkaTimestamp > seen)
          ingestTimes.set(reading.timestamp, message.kafkaTimestamp)
      }
      if (rejected === undefined) continue
      const modelName = `${model.modelId}@${model.version}`
      for (const letter of rejectedDeadLetters(message, readings[0]?.timestamp ?? 0, rejected, modelName))
        deadLetters.push(letter)
    }
    this.#observer?.readings('accepted', accepted)
    this.#observer?.readings('replayed', replayed)

    const newTimestamps: EpochMs[] = []
    const newRows: Float64Array[] = []
    const events: OutgoingEvent[] = []
    const scoredIngestTimes: EpochMs[] = []
    let coveredOffset = state.coveredOffset
    const frames = flushIdle ? assembler.flush() : assembler.drain()
    if (flushIdle) this.#observer?.framesFlushedIdle(frames.length)
    let filled = 0
    for (const frame of frames) {
      const previous = state.rows[state.rows.length - 1]
      const filledVariables = frame.missing > 0 ? missingVariables(frame.values, model.variables) : []
      if (frame.missing > 0) filled++
      const row =
        frame.missing > 0 ? fillMissing(frame.values, previous, model.fillNAMethod, model.paddingValue) : frame.values
      state.timestamps.push(frame.timestamp)
      state.rows.push(row)
      if (state.rows.length > state.windowLength) {
        state.rows.shift()
        state.timestamps.shift()
      }
      newTimestamps.push(frame.timestamp)
      newRows.push(row)
      if (frame.maxOffset > coveredOffset) coveredOffset = frame.maxOffset
      if (state.rows.length >= model.slidingWindow) {
        // (fewer rows: not enough history yet, no warm start possible)
        const scored = { timestamp: frame.timestamp, filledVariables }
        scoredIngestTimes.push(this.#scoreDefault(entity, state.rows, model, scored, ingestTimes, events))
      }
      if (state.shadow !== undefined) {
        this.#scoreShadow(entity, state.rows, state.shadow, { timestamp: frame.timestamp, filledVariables }, events)
      }
    }
    if (filled > 0) this.#observer?.framesFilled(filled)
    return { newTimestamps, newRows, events, coveredOffset, ingestTimes: scoredIngestTimes }
  }

  /** Detect-last of the newest row by the entity's model; returns the frame's ingest time (for latency). */
  #scoreDefault(
    entity: string,
    rows: Float64Array[],
    model: LoadedModel,
    { timestamp, filledVariables }: ScoredFrame,
    ingestTimes: ReadonlyMap<EpochMs, EpochMs>,
    events: OutgoingEvent[],
  ): EpochMs {
    const started = performance.now()
    const value = model.scoreLast(lastRows(rows, model.slidingWindow), this.#options.topContributorCount)
    const scoringSeconds = (performance.now() - started) / 1000
    const event = toAnomalyEvent(entity, model, timestamp, value, filledVariables)
    const ingest = ingestTimes.get(timestamp) ?? Date.now()
    this.#observer?.frameScored(model, event, scoringSeconds, ingest)
    if (value.isAnomaly || this.#options.publishScores) events.push({ entity, event, isAnomaly: value.isAnomaly })
    return ingest
  }

  /** Shadow scoring of the newest row; its events go out like the default's, tagged `shadow`. */
  #scoreShadow(
    entity: string,
    rows: readonly Float64Array[],
    shadow: ShadowModel,
    { timestamp, filledVariables }: ScoredFrame,
    events: OutgoingEvent[],
  ): void {
    if (rows.length < shadow.model.slidingWindow) return
    const started = performance.now()
    const value = shadow.model.scoreLast(shadowWindow(rows, shadow), this.#options.topContributorCount)
    const filled = filledVariables.filter((variable) => shadow.model.variables.includes(variable))
    const event: AnomalyEvent = { ...toAnomalyEvent(entity, shadow.model, timestamp, value, filled), shadow: true }
    this.#observer?.shadowScored(shadow.model, event, (performance.now() - started) / 1000)
    if (value.isAnomaly || this.#options.publishScores) events.push({ entity, event, isAnomaly: value.isAnomaly })
  }

  async #entityState(entity: string): Promise<EntityState | undefined> {
    const known = this.#entities.get(entity)
    if (known !== undefined) return known
    // A binding change announced while the model and window are read may leave us with the old model: read again
    // (a few times at most; the next change's forget drops the state anyway).
    for (let attempt = 1; ; attempt++) {
      const forgets = this.#forgets
      const state = await this.#loadEntityState(entity)
      if (forgets === this.#forgets || attempt === 3) {
        if (state !== undefined) this.#entities.set(entity, state)
        return state
      }
    }
  }

  async #loadEntityState(entity: string): Promise<EntityState | undefined> {
    const resolved = await this.#models.resolveEntity(entity)
    if (resolved === undefined) return undefined
    const { model, shadow } = resolved
    const windowLength = Math.max(model.slidingWindow, shadow?.model.slidingWindow ?? 0)
    const started = performance.now()
    const stored = await this.#windows.load(entity)
    this.#observer?.windowStoreSeconds('load', (performance.now() - started) / 1000)
    let state: EntityState
    if (stored !== undefined && stored.modelKey === model.layoutKey) {
      state = {
        model,
        shadow,
        windowLength,
        assembler: new FrameAssembler(model.variables, this.#options.allowedLatenessMs, lastOf(stored.timestamps)),
        timestamps: stored.timestamps.slice(-windowLength),
        rows: stored.rows.slice(-windowLength),
        coveredOffset: stored.coveredOffset,
        persisted: true,
        unacknowledged: stored.pendingEvents,
        lastIngest: Number.NEGATIVE_INFINITY,
      }
    } else {
      // New window (or a model with other variables): warm start from the model's training tail, so the first
      // streamed frame already has a full window. The tail rows carry no timestamps of their own.
      const tail = model.trainingTail.slice(-(model.slidingWindow - 1)).map((row) => Float64Array.from(row))
      state = {
        model,
        shadow,
        windowLength,
        // Frames the replaced window scored stay scored: a reading for one of them is late, not scored again
        // (an event older than ones already published, under another model's event id).
        assembler: new FrameAssembler(
          model.variables,
          this.#options.allowedLatenessMs,
          stored === undefined ? Number.NEGATIVE_INFINITY : lastOf(stored.timestamps),
        ),
        timestamps: tail.map(() => Number.NEGATIVE_INFINITY),
        rows: tail,
        coveredOffset: stored?.coveredOffset ?? -1n,
        persisted: false,
        // A window replaced for another model's layout may still hold events nobody saw acknowledged.
        unacknowledged: stored?.pendingEvents ?? [],
        lastIngest: Number.NEGATIVE_INFINITY,
      }
    }
    return state
  }
}

/** The frame a score is for: its timestamp and the variables filled because their readings had not arrived. */
interface ScoredFrame {
  timestamp: EpochMs
  filledVariables: readonly string[]
}

/** The newest `n` rows (no copy when there are exactly `n`). */
function lastRows(rows: Float64Array[], n: number): Float64Array[] {
  return rows.length > n ? rows.slice(-n) : rows
}

function lastOf(timestamps: readonly EpochMs[]): EpochMs {
  return timestamps[timestamps.length - 1] ?? Number.NEGATIVE_INFINITY
}
