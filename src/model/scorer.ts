/**
 * Scoring: detect-last (`scoreLast`, one window) and detect-batch (`scoreSeries`, every row with a full window).
 * Both run the same per-row functions (detector.ts) in the same order, so their results are identical.
 *
 * Output (MVAD AnomalyValue): with s the raw score (model, novelty, volatility and stillness parts, detector.ts) and
 * θ the calibrated threshold,
 *   score     = 2·s / (s + θ)      in [0, 2), equal to 1 at the threshold (MVAD's score range)
 *   isAnomaly = s > θ
 *   severity  = 1 − θ/s when anomalous (in (0, 1), increasing with s), else 0
 *   interpretation (anomalous rows only): each variable's evidence is the mean of two shares, each summing to 1
 *   over all variables: its part of s (its smoothed error over τ_model plus its share of the novelty — squared gap
 *   to the nearest prototype — over τ_novelty plus ½ its volatility over τ_volatility and ½ its stillness over τ_stillness), and how unusual its level
 *   is over the smoothing span (|z| in units of its training 99.9th percentile of |z|; for a two-state channel, its
 *   distance from its training states). The level share keeps the blame on the variables that are actually off:
 *   deep into a long fault the forecast residuals also fall on variables predicted from the faulty one. Top
 *   contributors by evidence, contributionScore summing to 1 over those returned; correlationChanges lists the
 *   variables whose correlation with the contributor inside the window moved furthest from training
 *   (|Δρ| ≥ correlationChange, at most 5). States before version 3 have no level scales and rank by the part of s
 *   alone.
 */
import type { AnomalyValue, Contributor } from '../domain/types.js'
import {
  STILLNESS_WEIGHT,
  VOLATILITY_WEIGHT,
  meanNovelty,
  noveltyPeak,
  finishChanges,
  rowChanges,
  squaredChanges,
  rowErrors,
  scaleRow,
  topMean,
  type DetectorWeights,
} from './detector.js'
import { RowHasher, RowMemo, SlidingRowsPool, type SlidingRows } from './row-memo.js'
import { discreteLookup, distanceFromStates } from './discrete.js'
import { NoveltyMeter, type Prototypes } from './prototypes.js'
import type { ModelState } from './state.js'
import { noveltyHoldRows, volatilityRows } from './params.js'
import { WindowCorrelations } from './window-correlations.js'
import { THRESHOLD_ROUNDING } from './threshold.js'

/** Most streams whose novelty carry a scorer keeps, and the memory they may take (see noveltyCarries). */
const MAX_NOVELTY_CARRIES = 64
const NOVELTY_CARRY_BYTES = 8_000_000
/** What a carry keeps per row besides the row and its novelty: its scaled values, errors and squared changes. */
const CARRIED_SCALED = 0
const CARRIED_ERRORS = 1
/** Each variable's squared change from the row before (the volatility and stillness parts sum them). */
const CARRIED_CHANGES = 2
const CARRIED_KINDS = 3

export interface Scorer {
  readonly variables: readonly string[]
  readonly slidingWindow: number
  /** detect-last: `window` = exactly slidingWindow rows, oldest first; the last row is scored. Not mutated. */
  scoreLast(window: readonly Float64Array[], topContributorCount?: number): AnomalyValue
  /** detect-batch: one entry per row; null for rows with fewer than slidingWindow − 1 rows before them. */
  scoreSeries(rows: readonly Float64Array[], topContributorCount?: number): (AnomalyValue | null)[]
}

export function createScorer(state: ModelState): Scorer {
  const { params, payload } = state
  const d = payload.variables.length
  const weights: DetectorWeights = {
    d,
    lags: params.lags,
    center: Float64Array.from(payload.center),
    scale: Float64Array.from(payload.scale),
    forecast: Float64Array.from(payload.forecast),
    residualScale: Float64Array.from(payload.residualScale),
    pcaMean: Float64Array.from(payload.pcaMean),
    pcaBasis: Float64Array.from(payload.pcaBasis),
    pcaRank: payload.pcaRank,
    reconScale: Float64Array.from(payload.reconScale),
    errorScale: Float64Array.from(payload.errorScale),
    discrete: discreteLookup(payload.discreteChannels, d),
  }
  const prototypes: Prototypes = { values: Float64Array.from(payload.prototypes), count: payload.prototypeCount, d }
  const noveltySpan = prototypes.count > 0 ? params.noveltySmoothing : 0
  const hold = noveltySpan > 0 ? noveltyHoldRows(params) : 1
  // Rows whose novelty a row's novelty part reads: the smoothing span of each of the `hold` rows ending at it.
  const noveltyReach = noveltySpan > 0 ? noveltySpan + hold - 1 : 0
  const { model: modelScale, novelty: noveltyScale, volatility: volatilityScale } = payload.scoreScale
  const stillnessScale = payload.scoreScale.stillness
  const changeUnits = {
    high: Float64Array.from(payload.volatilityScale),
    low: Float64Array.from(payload.stillnessScale),
  }
  const changeSpan = changeUnits.high.length > 0 ? volatilityRows(params) : 0
  // Per variable, of the row being scored (set before finish reads them), and their largest values.
  const volatility = new Float64Array(d)
  const stillness = new Float64Array(d)
  const changeParts = new Float64Array(2)
  const levelScale = Float64Array.from(payload.levelScale)
  const W = params.slidingWindow
  const span = Math.max(params.lags + params.smoothing, noveltyReach, changeSpan + 1)
  const threshold = payload.threshold
  // Scratch buffers reused across calls (scoring is synchronous, so no call can interleave with another).
  // The span's scaled rows (detect-last): each either one of scaledOwn or the followed carry's copy of the same row.
  const scaledOwn = Array.from({ length: span }, () => new Float64Array(d))
  const scaledSpan: Float64Array[] = [...scaledOwn]
  const changesOwn = Array.from({ length: span }, () => new Float64Array(d))
  const scratch = new Float64Array(d + payload.pcaRank)
  const smoothed = new Float64Array(d)
  const sortBuffer = new Float64Array(d)
  const meter = new NoveltyMeter(prototypes)
  const reachRows = Math.max(noveltyReach, 1)
  const noveltySpanValues = new Float64Array(reachRows)
  // Smoothed novelty at each of those rows that has its whole span among them (the others stay NaN, never read).
  const noveltySpanMeans = new Float64Array(reachRows).fill(Number.NaN)
  const noveltyShare = new Float64Array(d)
  // Rows' novelty split by variable (interpretation): by content for detect-last, with room for the held spans of ~10
  // streams in trouble at once (entities sharing the model; 256 slots of 2d numbers at the default span), by row
  // index within a series.
  const noveltySplitMemo = new RowMemo(d, 1, d, 8 * Math.max(noveltySpan, 1))
  const seriesSplits = Array.from({ length: reachRows }, () => new Float64Array(d))
  const seriesSplitRow = new Float64Array(reachRows).fill(-1)
  // Twice the rows a call reads: consecutive windows mostly go through noveltyCarries below, and this memo (d values
  // per slot) serves windows that do not follow an earlier one.
  const noveltyMemo = new RowMemo(d, 1, 1, 2 * reachRows)
  const errorsMemo = new RowMemo(d, params.lags + 1, d, 16 * params.smoothing)
  const spanRaw: Float64Array[] = new Array<Float64Array>(span)
  const spanScaled = new Uint8Array(span)
  const spanHashes = new Uint32Array(span)
  const spanHashed = new Uint8Array(span)
  // Carries of the previous windows' novelty, scaled rows, errors and changes, one per stream (entity) scored with this
  // model, within ~8 MB (64 streams at 38 variables, 10 at 301).
  const noveltyCarries = new SlidingRowsPool(
    d,
    reachRows,
    Math.min(MAX_NOVELTY_CARRIES, Math.floor(NOVELTY_CARRY_BYTES / (8 * d * reachRows * (1 + CARRIED_KINDS)))),
    CARRIED_KINDS,
  )
  const hasher = new RowHasher(d)
  /** The carry the current detect-last window follows (already moved to it), or undefined. */
  let followed: SlidingRows | undefined
  // Interpretation of an anomalous row: the scaled window (detect-last) and the correlations inside it.
  const correlations = new WindowCorrelations(
    payload.variables,
    W,
    Float64Array.from(payload.trainingCorrelation),
    params.correlationChange,
  )

  function checkWidth(row: Float64Array | undefined): void {
    if (row === undefined || row.length !== d) {
      throw new RangeError(`expected rows of ${d} values (${payload.variables.join(', ')}), got ${row?.length ?? 0}`)
    }
  }

  /**
   * Turns the smoothed per-variable errors of row `end` of `windowRows` and its novelty part into an AnomalyValue.
   * `windowRows` are raw rows, or already scaled ones (detect-batch has scaled every row; no need to do it again);
   * `noveltyPeakEnd` is the row of `windowRows` whose smoothing span gave the novelty part (see noveltyPeak).
   */
  function finish(
    windowRows: readonly Float64Array[],
    rowsAreScaled: boolean,
    end: number,
    noveltyPart: number,
    noveltyPeakEnd: number,
    topN: number,
  ): AnomalyValue {
    for (let j = 0; j < d; j++) smoothed[j] = (smoothed[j] as number) / params.smoothing
    const raw =
      topMean(smoothed, params.topVariables, sortBuffer) / modelScale +
      noveltyPart / noveltyScale +
      (VOLATILITY_WEIGHT * (changeParts[0] as number)) / volatilityScale +
      (STILLNESS_WEIGHT * (changeParts[1] as number)) / stillnessScale
    // NaN or ±Infinity in the rows read would otherwise pass as a normal row (NaN > θ is false) or score NaN.
    if (!Number.isFinite(raw))
      throw new RangeError('the window holds a value that is not a finite number (NaN or ±Infinity)')
    const isAnomaly = raw > threshold * (1 + THRESHOLD_ROUNDING) // above θ by more than rounding
    const score = raw + threshold > 0 ? (2 * raw) / (raw + threshold) : 0
    if (!isAnomaly) return { isAnomaly, score, severity: 0, interpretation: [] }
    return {
      isAnomaly,
      score,
      severity: 1 - threshold / raw,
      interpretation: interpret(windowRows, rowsAreScaled, end, noveltyPeakEnd, contributorCount(topN)),
    }
  }

  function interpret(
    windowRows: readonly Float64Array[],
    rowsAreScaled: boolean,
    end: number,
    noveltyPeakEnd: number,
    topN: number,
  ): Contributor[] {
    const scaled = rowsAreScaled ? windowRows.slice(end - W + 1, end + 1) : scaleWindow(windowRows, end)
    // Each variable's part of the raw score: its smoothed error, plus its share of the novelty of the rows that gave
    // the novelty part (the held peak's span: the blame stays with the variables that made the burst), plus its
    // volatility and its stillness beyond the stillest it was in training (below that, every variable would get a
    // share for moving as usual: HitRate@150 % on smd 0.815 against 0.822).
    const share = noveltyShares(windowRows, rowsAreScaled, end, noveltyPeakEnd)
    const part = Float64Array.from(
      smoothed,
      (e, j) =>
        e / modelScale +
        (share[j] as number) / noveltyScale +
        (VOLATILITY_WEIGHT * (volatility[j] as number)) / volatilityScale +
        (STILLNESS_WEIGHT * Math.max(0, (stillness[j] as number) - 1)) / stillnessScale,
    )
    if (levelScale.length === d) blendLevels(part, scaled)
    const order = Array.from({ length: d }, (_, j) => j).sort(
      (a, b) => (part[b] as number) - (part[a] as number) || a - b,
    )
    const chosen = order.slice(0, Math.min(topN, d))
    const total = chosen.reduce((s, j) => s + (part[j] as number), 0)
    // Correlations inside the window, on scaled values, for the chosen contributors only.
    correlations.measure(scaled)
    return chosen.map((j) => ({
      variable: payload.variables[j] as string,
      contributionScore: total > 0 ? (part[j] as number) / total : 1 / chosen.length,
      correlationChanges: { changedVariables: correlations.changedVariables(j) },
    }))
  }

  /**
   * Replaces `part` by the mean of its shares and the shares of how unusual each variable's level is (see the top).
   * Shares, because the two are in different units (squared residuals against distances).
   */
  function blendLevels(part: Float64Array, scaled: readonly Float64Array[]): void {
    const level = new Float64Array(d)
    const { slot } = weights.discrete
    for (let t = scaled.length - params.smoothing; t < scaled.length; t++) {
      const row = scaled[t] as Float64Array
      for (let j = 0; j < d; j++) {
        const channel = slot[j] as number
        // A two-state channel's level is how far it is from its training states (0 in either of them: its rarer
        // state is not unusual), in its own units.
        const unusual =
          channel < 0
            ? Math.abs(row[j] as number) / (levelScale[j] as number)
            : distanceFromStates(weights.discrete, channel, row[j] as number)
        level[j] = (level[j] as number) + unusual
      }
    }
    let partSum = 0
    let levelSum = 0
    for (let j = 0; j < d; j++) {
      partSum += part[j] as number
      levelSum += level[j] as number
    }
    for (let j = 0; j < d; j++) {
      const fromPart = partSum > 0 ? (part[j] as number) / partSum : 0
      const fromLevel = levelSum > 0 ? (level[j] as number) / levelSum : 0
      part[j] = (fromPart + fromLevel) / 2
    }
  }

  /**
   * Per variable: mean over the novelty span ending at row `peakEnd` of `windowRows` (rows of the window ending at
   * `end`) of ν_t · gap_j² / ‖gap‖² (the rows' novelty split by variable). Each row's split is remembered
   * (spanNoveltySplit, seriesNoveltySplit): while a peak is held, every anomalous row of a stream splits the same span
   * again.
   */
  function noveltyShares(
    windowRows: readonly Float64Array[],
    rowsAreScaled: boolean,
    end: number,
    peakEnd: number,
  ): Float64Array {
    noveltyShare.fill(0)
    for (let t = peakEnd - noveltySpan + 1; t <= peakEnd; t++) {
      const split = rowsAreScaled ? seriesNoveltySplit(windowRows, t) : spanNoveltySplit(span - 1 - (end - t))
      for (let j = 0; j < d; j++) noveltyShare[j] = (noveltyShare[j] as number) + (split[j] as number)
    }
    return noveltyShare
  }

  /** Row t's novelty split by variable, ν · gap_j² / ‖gap‖² / noveltySpan (all 0 on a prototype), into `out`. */
  function rowNoveltySplit(scaledRow: Float64Array, out: Float64Array): void {
    const total = meter.squared(scaledRow)
    if (!(total > 0)) {
      out.fill(0)
      return
    }
    const distance = Math.sqrt(total)
    const offset = meter.nearest * d
    for (let j = 0; j < d; j++) {
      const gap = (meter.clipped[j] as number) - (prototypes.values[offset + j] as number)
      out[j] = (distance * gap * gap) / total / noveltySpan
    }
  }

  /** detect-last: the novelty split of row s of the current span, from the memo or computed. */
  function spanNoveltySplit(s: number): Float64Array {
    hashRows(s, s)
    let split = noveltySplitMemo.lookup(spanRaw, s, spanHashes)
    if (split === undefined) {
      split = noveltySplitMemo.store(spanRaw, s)
      rowNoveltySplit(scaledAt(s), split)
    }
    return split
  }

  /** detect-batch: the novelty split of row t of the (scaled) series, kept for the last noveltyReach rows. */
  function seriesNoveltySplit(scaled: readonly Float64Array[], t: number): Float64Array {
    const slot = t % reachRows
    const split = seriesSplits[slot] as Float64Array
    if (seriesSplitRow[slot] !== t) {
      rowNoveltySplit(scaled[t] as Float64Array, split)
      seriesSplitRow[slot] = t
    }
    return split
  }

  /** detect-last: the window ending at row `end` of raw `windowRows`, scaled into shared scratch rows. */
  function scaleWindow(windowRows: readonly Float64Array[], end: number): Float64Array[] {
    const scaled = correlations.scratchRows()
    for (let t = 0; t < W; t++) {
      scaleRow(weights, windowRows[end - W + 1 + t] as Float64Array, scaled[t] as Float64Array)
    }
    return scaled
  }

  /**
   * Row s of the current detect-last span, scaled on first use: taken from the followed carry when it kept that row
   * scaled (the same row, value for value, so the same scaled values), else computed (and given to the carry).
   */
  function scaledAt(s: number): Float64Array {
    if (spanScaled[s] === 1) return scaledSpan[s] as Float64Array
    spanScaled[s] = 1
    const kept = s - (span - reachRows) // the carry's rows are the span's last reachRows
    if (followed !== undefined && kept >= 0) {
      const fromCarry = followed.derived(kept, CARRIED_SCALED)
      if (fromCarry !== undefined) return (scaledSpan[s] = fromCarry)
    }
    const out = scaledOwn[s] as Float64Array
    scaleRow(weights, spanRaw[s] as Float64Array, out)
    if (followed !== undefined && kept >= 0) followed.setDerived(kept, out, CARRIED_SCALED)
    return (scaledSpan[s] = out)
  }

  /** Row s's squared changes from row s − 1 (detect-last): carried while both rows are, else computed. */
  function changesAt(s: number): Float64Array {
    const kept = followed !== undefined ? s - (span - reachRows) : -1
    const carried = kept >= 1 ? followed?.derived(kept, CARRIED_CHANGES) : undefined
    if (carried !== undefined) return carried
    const out = changesOwn[s] as Float64Array
    squaredChanges(scaledAt(s), scaledAt(s - 1), out)
    if (kept >= 1) followed?.setDerived(kept, out, CARRIED_CHANGES)
    return out
  }

  /**
   * For a fresh carry: row r of its rows (the span's last reachRows) scaled, if this call has scaled it. Errors are
   * left to the next call (the memo's buffers may have been reused since they were read).
   */
  function scaledIfDone(r: number, kind: number): Float64Array | undefined {
    const s = span - reachRows + r
    return kind === CARRIED_SCALED && spanScaled[s] === 1 ? scaledSpan[s] : undefined
  }

  /**
   * Per-variable errors of row `row` of the current detect-last span: from the followed carry (only while the `lags`
   * rows they read are kept too), else from the memo or computed, and then given to the carry.
   */
  function errorsAt(row: number): Float64Array {
    const kept = followed !== undefined ? row - (span - reachRows) : -1
    const carried = kept >= params.lags ? followed?.derived(kept, CARRIED_ERRORS) : undefined
    if (carried !== undefined) return carried
    hashRows(row - params.lags, row)
    let errors = errorsMemo.lookup(spanRaw, row, spanHashes)
    if (errors === undefined) {
      errors = errorsMemo.store(spanRaw, row)
      for (let l = 0; l <= params.lags; l++) scaledAt(row - l)
      rowErrors(weights, scaledSpan, row, errors, scratch)
    }
    if (kept >= params.lags) followed?.setDerived(kept, errors, CARRIED_ERRORS)
    return errors
  }

  /** Hashes rows first..last of the current detect-last span (once per call). */
  function hashRows(first: number, last: number): void {
    for (let s = first; s <= last; s++) {
      if (spanHashed[s] === 1) continue
      spanHashes[s] = hasher.hash(spanRaw[s] as Float64Array)
      spanHashed[s] = 1
    }
  }

  /** Novelty of row s of the current detect-last span, from the memo or measured. */
  function noveltyAt(s: number): number {
    hashRows(s, s)
    let remembered = noveltyMemo.lookup(spanRaw, s, spanHashes)
    if (remembered === undefined) {
      remembered = noveltyMemo.store(spanRaw, s)
      remembered[0] = meter.measure(scaledAt(s))
    }
    return remembered[0] as number
  }

  function scoreLast(window: readonly Float64Array[], topContributorCount = 10): AnomalyValue {
    if (window.length < W) throw new RangeError(`detect-last needs ${W} rows, got ${window.length}`)
    const end = window.length - 1
    for (let s = 0; s < span; s++) {
      const row = window[end - span + 1 + s]
      checkWidth(row)
      spanRaw[s] = row as Float64Array
    }
    spanScaled.fill(0) // rows are scaled only when a memo misses and needs them
    spanHashed.fill(0) // and hashed only when a memo looks them up
    followed = undefined
    if (noveltySpan > 0) {
      // A window that moves an earlier one by a row needs the novelty (and the scaled values) of its newest row only.
      hashRows(span - 2, span - 1) // the carries are filed by these rows' hashes
      const carry = noveltyCarries.following(spanRaw, span - 1, spanHashes)
      if (carry !== undefined) {
        carry.push(spanRaw[span - 1] as Float64Array, noveltyAt(span - 1))
        carry.setDerived(reachRows - 1, scaledAt(span - 1), CARRIED_SCALED)
        followed = carry
      }
    }
    smoothed.fill(0)
    for (let k = params.smoothing - 1; k >= 0; k--) {
      const errors = errorsAt(span - 1 - k)
      for (let j = 0; j < d; j++) smoothed[j] = (smoothed[j] as number) + (errors[j] as number)
    }
    let noveltyPart = 0
    let noveltyPeakEnd = end
    if (noveltySpan > 0) {
      if (followed !== undefined) {
        followed.copyValues(noveltySpanValues)
      } else {
        for (let s = 0; s < noveltyReach; s++) noveltySpanValues[s] = noveltyAt(span - noveltyReach + s)
      }
      // A fresh carry keeps the rows scaled so far (those the novelty memo missed, and the errors' lags).
      noveltyCarries.keep(spanRaw, span - 1, spanHashes, followed, noveltySpanValues, scaledIfDone)
      for (let e = noveltySpan - 1; e < noveltyReach; e++) {
        noveltySpanMeans[e] = meanNovelty(noveltySpanValues, e, noveltySpan)
      }
      const peak = noveltyPeak(noveltySpanMeans, noveltyReach - 1, hold)
      noveltyPart = noveltySpanMeans[peak] as number
      noveltyPeakEnd = end - (noveltyReach - 1 - peak)
    }
    if (changeSpan > 0) {
      // rowChanges' sum, oldest first, of each row's squared changes (carried, or computed and given to the carry).
      volatility.fill(0)
      for (let s = span - changeSpan; s < span; s++) {
        const squares = changesAt(s)
        for (let j = 0; j < d; j++) volatility[j] = (volatility[j] as number) + (squares[j] as number)
      }
      finishChanges(changeSpan, changeUnits, volatility, stillness, changeParts)
    }
    return finish(window, false, end, noveltyPart, noveltyPeakEnd, topContributorCount)
  }

  function scoreSeries(rows: readonly Float64Array[], topContributorCount = 10): (AnomalyValue | null)[] {
    const scaled = rows.map((row, i) => {
      checkWidth(row)
      for (const value of row)
        if (!Number.isFinite(value)) throw new RangeError(`row ${i} holds ${value}, not a finite number`)
      const out = new Float64Array(d)
      scaleRow(weights, row, out)
      return out
    })
    const perRow: (Float64Array | undefined)[] = new Array<Float64Array | undefined>(rows.length)
    seriesSplitRow.fill(-1) // row indices of an earlier series mean nothing in this one
    const noveltyPerRow = new Float64Array(noveltySpan > 0 ? rows.length : 0)
    const smoothedNovelty = new Float64Array(noveltyPerRow.length).fill(Number.NaN) // rows with a full span
    const results: (AnomalyValue | null)[] = []
    for (let i = 0; i < rows.length; i++) {
      if (noveltySpan > 0) {
        noveltyPerRow[i] = meter.measure(scaled[i] as Float64Array)
        if (i >= noveltySpan - 1) smoothedNovelty[i] = meanNovelty(noveltyPerRow, i, noveltySpan)
      }
      if (i >= params.lags) {
        const errors = new Float64Array(d)
        rowErrors(weights, scaled, i, errors, scratch)
        perRow[i] = errors
      }
      if (i < W - 1) {
        results.push(null)
        continue
      }
      smoothed.fill(0)
      for (let k = params.smoothing - 1; k >= 0; k--) {
        const errors = perRow[i - k] as Float64Array
        for (let j = 0; j < d; j++) smoothed[j] = (smoothed[j] as number) + (errors[j] as number)
      }
      const peak = noveltySpan > 0 ? noveltyPeak(smoothedNovelty, i, hold) : i
      const noveltyPart = noveltySpan > 0 ? (smoothedNovelty[peak] as number) : 0
      if (changeSpan > 0) rowChanges(scaled, i, changeSpan, changeUnits, volatility, stillness, changeParts)
      results.push(finish(scaled, true, i, noveltyPart, peak, topContributorCount))
      perRow[i - W + 1] = undefined // no longer needed by any later window
    }
    return results
  }

  return { variables: payload.variables, slidingWindow: W, scoreLast, scoreSeries }
}

/** topContributorCount as MVAD bounds it (1–30; 10 when it is not a number). */
function contributorCount(topN: number): number {
  return Number.isFinite(topN) ? Math.max(1, Math.min(30, Math.trunc(topN))) : 10
}
