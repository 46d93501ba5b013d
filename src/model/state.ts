/**
 * Model state: versioned JSON `{kind, version, params, payload}`. `loadModelState` validates shape and sizes and
 * names what is wrong, and migrates older versions:
 *   1 → 2: version 1 had no per-variable error scale, no novelty part and no score scales; they load as
 *          η = 1, no prototypes, τ = 1, which is exactly version 1's maths, so old models score as before.
 *   2 → 3: version 2 had no two-state channels (every channel's error was its residuals) and no level scales
 *          (contributors were ranked by their part of the score alone); they load with none of either, which is
 *          exactly version 2's maths and ranking.
 *   3 → 4: version 3 had no novelty hold (params.noveltyHold); it loads as 1, version 3's maths.
 *   4 → 5: version 4 had no change parts (volatility, stillness; params.volatilityWindow); it loads as 0 — no
 *          change parts, version 4's maths.
 */
import { ServiceError } from '../errors.js'
import type { ThresholdFit } from './threshold.js'
import { resolveParams, type ModelParams } from './params.js'
import { MAX_DISCRETE_STATES, type DiscreteChannel } from './discrete.js'

export const MODEL_KIND = 'mvad-stream/multivariate'
export const MODEL_STATE_VERSION = 5

export interface ModelPayload {
  variables: string[]
  center: number[]
  scale: number[]
  /** (lags·d + 1) × d, row-major. */
  forecast: number[]
  residualScale: number[]
  pcaMean: number[]
  /** pcaRank × d, row-major. */
  pcaBasis: number[]
  pcaRank: number
  reconScale: number[]
  /** η_j: training 99.9th percentile of variable j's error. */
  errorScale: number[]
  /**
   * Per variable: training 99.9th percentile of |z| (scaled distance from the median), the unit of how unusual a
   * level is when ranking contributors; empty before version 3 (contributors ranked by their part of the score).
   */
  levelScale: number[]
  /** Two-state channels and their transition surprisals (discrete.ts); empty before version 3. */
  discreteChannels: DiscreteChannel[]
  /** prototypeCount × d, row-major, in clipped scaled units (novelty part; empty when off). */
  prototypes: number[]
  prototypeCount: number
  /** τ: training 99th percentiles of the model, novelty, volatility and stillness parts of the score. */
  scoreScale: { model: number; novelty: number; volatility: number; stillness: number }
  /** ζ_j: unit of variable j's volatility (0 = left out); empty without change parts (before version 5). */
  volatilityScale: number[]
  /** λ_j: unit of variable j's stillness (0 = left out); empty without change parts (before version 5). */
  stillnessScale: number[]
  /** d × d Pearson correlations of the scaled training data. */
  trainingCorrelation: number[]
  /** Raw score at which a row becomes anomalous (label-free, from training scores). */
  threshold: number
  /** Last slidingWindow training rows (raw values, variables order), oldest first. */
  trainingTail: number[][]
  /** Timestamp (epoch ms) of the last training row. */
  trainingEnd: number | null
  /** The training data's sampling step in ms (median gap); null when unknown (states saved before it was kept). */
  trainingStep: number | null
}

export interface ModelState {
  kind: typeof MODEL_KIND
  version: number
  params: ModelParams
  payload: ModelPayload
}

export interface TrainingDiagnostics {
  stageSeconds: Record<string, number>
  rows: number
  variables: number
  pcaRank: number
  forecastResidualRms: number[]
  reconstructionResidualRms: number[]
  /** Variables modelled as two-state channels (transition surprisal instead of residuals). */
  twoStateChannels: string[]
  trainingScoreQuantiles: { p50: number; p99: number; max: number }
  threshold: ThresholdFit
  /** What in the training data makes false alarms likely (trainingWarnings); empty when nothing does. */
  warnings: string[]
}

function fail(message: string): never {
  throw new ServiceError('InvalidModelState', `invalid model state: ${message}`)
}

function numbers(value: unknown, name: string, length: number): number[] {
  if (!Array.isArray(value) || value.length !== length) fail(`${name} must be an array of ${length} numbers`)
  for (const v of value) if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${name} holds a non-finite value`)
  return value as number[]
}

function positives(value: unknown, name: string, length: number): number[] {
  const list = numbers(value, name, length)
  if (list.some((v) => v <= 0)) fail(`${name} must hold positive numbers`)
  return list
}

function discreteChannels(value: unknown, d: number): DiscreteChannel[] {
  if (!Array.isArray(value)) fail('payload.discreteChannels must be a list')
  const seen = new Set<number>()
  return value.map((item: unknown, i) => {
    const name = `payload.discreteChannels[${i}]`
    const c = (item ?? {}) as Record<string, unknown>
    const variable = c.variable
    if (typeof variable !== 'number' || !Number.isInteger(variable) || variable < 0 || variable >= d) {
      fail(`${name}.variable must be a variable index below ${d}`)
    }
    if (seen.has(variable)) fail(`${name}.variable repeats variable ${variable}`)
    seen.add(variable)
    const k = Array.isArray(c.states) ? c.states.length : 0
    if (k < 1 || k > MAX_DISCRETE_STATES) fail(`${name}.states must hold 1–${MAX_DISCRETE_STATES} values`)
    const states = numbers(c.states, `${name}.states`, k)
    const surprisal = numbers(c.surprisal, `${name}.surprisal`, (k + 1) * (k + 1))
    if (surprisal.some((v) => v < 0)) fail(`${name}.surprisal must hold non-negative numbers`)
    if (states.some((v, i) => i > 0 && v <= (states[i - 1] as number))) fail(`${name}.states must ascend`)
    return { variable, states, surprisal }
  })
}

export function loadModelState(json: unknown): ModelState {
  if (json === null || typeof json !== 'object') fail('not an object')
  const s = json as Record<string, unknown>
  if (s.kind !== MODEL_KIND) fail(`kind is ${JSON.stringify(s.kind)}, expected "${MODEL_KIND}"`)
  const version = s.version
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1 || version > MODEL_STATE_VERSION) {
    fail(`version ${String(s.version)} is not supported (this build reads versions 1–${MODEL_STATE_VERSION}); retrain`)
  }
  const legacy = s.version === 1
  // Version 1 had no novelty part and versions before 4 no novelty hold: their params did not name them, and the
  // defaults must not switch them on.
  const params = resolveParams({
    ...(legacy ? { noveltyPrototypes: 0, noveltySmoothing: 1 } : {}),
    ...(version < 4 ? { noveltyHold: 1 } : {}),
    ...(version < 5 ? { volatilityWindow: 0 } : {}),
    ...((s.params ?? {}) as Partial<ModelParams>),
  })
  const p = s.payload as Record<string, unknown> | undefined
  if (p === undefined || p === null || typeof p !== 'object') fail('payload missing')
  const variables = p.variables
  if (!Array.isArray(variables) || variables.length === 0 || !variables.every((v) => typeof v === 'string')) {
    fail('payload.variables must be a non-empty list of names')
  }
  const repeated = variables.find((v, i) => variables.indexOf(v) !== i)
  if (repeated !== undefined) fail(`payload.variables names '${String(repeated)}' twice`)
  const d = variables.length
  const pcaRank = p.pcaRank
  if (typeof pcaRank !== 'number' || !Number.isInteger(pcaRank) || pcaRank < 0 || pcaRank >= Math.max(d, 1) + 1) {
    fail('payload.pcaRank out of range')
  }
  const tail = p.trainingTail
  if (!Array.isArray(tail) || tail.length === 0) fail('payload.trainingTail must hold rows')
  tail.forEach((row, i) => numbers(row, `payload.trainingTail[${i}]`, d))
  if (typeof p.threshold !== 'number' || !(p.threshold > 0)) fail('payload.threshold must be a positive number')
  const prototypeCount = legacy ? 0 : p.prototypeCount
  if (typeof prototypeCount !== 'number' || !Number.isInteger(prototypeCount) || prototypeCount < 0) {
    fail('payload.prototypeCount must be a non-negative integer')
  }
  const scoreScale = legacy ? { model: 1, novelty: 1 } : (p.scoreScale as Record<string, unknown> | undefined)
  const positive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0
  if (scoreScale === undefined || !positive(scoreScale.model) || !positive(scoreScale.novelty)) {
    fail('payload.scoreScale must hold positive numbers model and novelty')
  }
  const changeUnits = (name: 'volatilityScale' | 'stillnessScale'): number[] => {
    const list = params.volatilityWindow > 0 ? numbers(p[name], `payload.${name}`, d) : []
    if (list.some((v) => v < 0)) fail(`payload.${name} must hold non-negative numbers`)
    return list
  }
  const volatilityScale = changeUnits('volatilityScale')
  const stillnessScale = changeUnits('stillnessScale')
  const volatilityTau = version < 5 ? 1 : scoreScale.volatility
  if (!positive(volatilityTau)) fail('payload.scoreScale.volatility must be a positive number')
  const stillnessTau = version < 5 ? 1 : scoreScale.stillness
  if (!positive(stillnessTau)) fail('payload.scoreScale.stillness must be a positive number')
  const end = p.trainingEnd
  if (end !== null && end !== undefined && typeof end !== 'number') fail('payload.trainingEnd must be a number or null')
  const step = p.trainingStep
  if (step !== null && step !== undefined && !positive(step))
    fail('payload.trainingStep must be a positive number or null')
  return {
    kind: MODEL_KIND,
    version: MODEL_STATE_VERSION,
    params,
    payload: {
      variables: variables,
      center: numbers(p.center, 'payload.center', d),
      scale: positives(p.scale, 'payload.scale', d),
      forecast: numbers(p.forecast, 'payload.forecast', (params.lags * d + 1) * d),
      residualScale: positives(p.residualScale, 'payload.residualScale', d),
      pcaMean: numbers(p.pcaMean, 'payload.pcaMean', d),
      pcaBasis: numbers(p.pcaBasis, 'payload.pcaBasis', pcaRank * d),
      pcaRank,
      reconScale: positives(p.reconScale, 'payload.reconScale', d),
      errorScale: legacy ? new Array<number>(d).fill(1) : positives(p.errorScale, 'payload.errorScale', d),
      levelScale: version >= 3 ? positives(p.levelScale, 'payload.levelScale', d) : [],
      discreteChannels: version >= 3 ? discreteChannels(p.discreteChannels, d) : [],
      prototypes: legacy ? [] : numbers(p.prototypes, 'payload.prototypes', prototypeCount * d),
      prototypeCount,
      scoreScale: {
        model: scoreScale.model,
        novelty: scoreScale.novelty,
        volatility: volatilityTau,
        stillness: stillnessTau,
      },
      volatilityScale,
      stillnessScale,
      trainingCorrelation: numbers(p.trainingCorrelation, 'payload.trainingCorrelation', d * d),
      threshold: p.threshold,
      trainingTail: tail as number[][],
      trainingEnd: end ?? null,
      trainingStep: step ?? null,
    },
  }
}
