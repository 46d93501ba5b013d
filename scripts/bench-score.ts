/**
 * npm run bench:score — detect-last milliseconds per row (38 variables, window 200, warm) on seeded synthetic data
 * (normal rows, ten interleaved entities, an incident where every row is anomalous), and training seconds for one smd entity of the bench (BENCH_DIR or ../shared/data/bench).
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { AlignedSeries } from '../src/domain/types.js'
import { alignTable } from '../src/data/align.js'
import { readOneTableFile } from '../src/data/files.js'
import { createScorer, fitModel } from '../src/model/index.js'
import { seededRandom } from '../src/model/random.js'

const VARIABLES = 38
const WINDOW = 200

function synthetic(rowsCount: number, seed = 7, phase = 0): AlignedSeries {
  const random = seededRandom(seed)
  const rows = Array.from({ length: rowsCount }, (_, t) =>
    Float64Array.from({ length: VARIABLES }, (_, j) => Math.sin(t / 30 + j + phase) + 0.1 * random()),
  )
  return {
    variables: Array.from({ length: VARIABLES }, (_, j) => `x${String(j).padStart(2, '0')}`),
    timestamps: rows.map((_, t) => t * 60_000),
    rows,
    variableStates: [],
  }
}

const series = synthetic(5_000)
const model = fitModel(series, { slidingWindow: WINDOW }).state
const scorer = createScorer(model)

/** Milliseconds per call over `windows`, scored in order: 3 warm-up passes, then the median of 7 timed passes. */
function detectLastMs(windows: readonly (readonly Float64Array[])[]): { median: number; rounds: number[] } {
  for (let r = 0; r < 3; r++) for (const window of windows) scorer.scoreLast(window) // warm-up: JIT and caches
  // Rounds are timed one by one and the median reported: on a shared 2-vCPU machine single rounds swing by ±40 %.
  const rounds: number[] = []
  for (let r = 0; r < 7; r++) {
    const started = performance.now()
    for (const window of windows) scorer.scoreLast(window)
    rounds.push((performance.now() - started) / windows.length)
  }
  return { median: [...rounds].sort((a, b) => a - b)[3] as number, rounds }
}

const single = detectLastMs(Array.from({ length: 2_000 }, (_, i) => series.rows.slice(i, i + WINDOW)))
console.log(
  `detect-last: ${single.median.toFixed(4)} ms per row (${VARIABLES} variables, window ${WINDOW}, warm; median of 7 rounds: ${single.rounds.map((v) => v.toFixed(4)).join(' ')})`,
)
// Ten entities bound to the same model: their windows arrive interleaved, one row of each in turn.
const entities = Array.from({ length: 10 }, (_, k) => synthetic(WINDOW + 200, 100 + k, k).rows)
const interleaved = Array.from({ length: 200 }, (_, i) => entities.map((rows) => rows.slice(i, i + WINDOW))).flat()
const shared = detectLastMs(interleaved)
console.log(
  `detect-last, 10 entities interleaved on one model: ${shared.median.toFixed(4)} ms per row (median of 7 rounds: ${shared.rounds.map((v) => v.toFixed(4)).join(' ')})`,
)

// An incident: every window anomalous (x00 off its level, x01 against its usual course), so every call also ranks
// the contributors and lists their correlation changes (MVAD's default 10): the cost while a stream is in trouble.
const incident = synthetic(WINDOW + 2_000, 55).rows.map((row) => {
  const faulty = Float64Array.from(row)
  faulty[0] = (faulty[0] as number) + 4
  faulty[1] = -(faulty[1] as number)
  return faulty
})
const incidentWindows = Array.from({ length: 2_000 }, (_, i) => incident.slice(i, i + WINDOW))
const anomalous = incidentWindows.filter((window) => createScorer(model).scoreLast(window).isAnomaly).length
const troubled = detectLastMs(incidentWindows)
console.log(
  `detect-last, every row anomalous (${anomalous}/${incidentWindows.length}, top 10 contributors): ${troubled.median.toFixed(4)} ms per row (median of 7 rounds: ${troubled.rounds.map((v) => v.toFixed(4)).join(' ')})`,
)

const benchDir = process.env.BENCH_DIR ?? resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'bench')
const entity = resolve(benchDir, 'smd', 'machine-1-6', 'train.csv')
if (existsSync(entity)) {
  const train = alignTable(await readOneTableFile(entity))
  const t0 = performance.now()
  fitModel(train)
  console.log(
    `training smd/machine-1-6 (${train.rows.length} rows × ${train.variables.length} variables): ${((performance.now() - t0) / 1000).toFixed(2)} s`,
  )
} else {
  console.log(`training: bench entity not found at ${entity} (set BENCH_DIR)`)
}
