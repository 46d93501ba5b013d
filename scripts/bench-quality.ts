/**
 * Quality benchmark: for every entity of the bench folder (shared/data/bench, or $BENCH_DIR) train on train.csv,
 * detect test.csv continuing from the training tail, and evaluate against labels.csv (+ interpretation.csv).
 * Prints one line per entity and a per-kind table beside the README's PCA floor. Runs in-process (no CLI spawning).
 *
 *   npm run bench:quality                 # all kinds
 *   npm run bench:quality -- smd asd      # some kinds; `smd/machine-1-6` for one entity
 *   BENCH_JSON=out.json npm run bench:quality   # also write every entity's report as JSON
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { alignTable } from '../src/data/align.js'
import { readOneTableFile } from '../src/data/files.js'
import { alignForModel } from '../src/data/inference.js'
import { evaluateResults, meanFinite, type EvaluationReport } from '../src/eval/evaluate.js'
import { parseInterpretationCsv, parseLabelsCsv } from '../src/eval/labels.js'
import { createScorer, fitModel } from '../src/model/index.js'
import { detectBatch } from '../src/pipeline/detect-batch.js'

const KINDS = ['smd', 'asd', 'smap', 'msl'] as const

/** Reference floor from the bench README (plain PCA reconstruction error). */
const PCA_FLOOR: Record<string, Partial<Record<MetricKey, number>>> = {
  smd: { bestF1: 0.446, aucPR: 0.387, f1: 0.184, paF1: 0.715, hit100: 0.392, hit150: 0.456 },
  asd: { bestF1: 0.308, aucPR: 0.256, f1: 0.253, paF1: 0.455, hit100: 0.683, hit150: 0.683 },
  smap: { bestF1: 0.251, aucPR: 0.159, f1: 0.006, paF1: 0.378 },
  msl: { bestF1: 0.418, aucPR: 0.318, f1: 0.184, paF1: 0.564 },
}

const METRICS = ['bestF1', 'aucPR', 'f1', 'paF1', 'hit100', 'hit150'] as const
type MetricKey = (typeof METRICS)[number]

interface EntityResult {
  kind: string
  entity: string
  report: EvaluationReport
  trainSeconds: number
  detectSeconds: number
}

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
}

const benchDir = process.env.BENCH_DIR ?? resolve(findRepoRoot(), '..', 'shared', 'data', 'bench')

function listDirs(path: string): string[] {
  return readdirSync(path)
    .filter((name) => statSync(join(path, name)).isDirectory())
    .sort()
}

async function runEntity(kind: string, entity: string): Promise<EntityResult> {
  const dir = join(benchDir, kind, entity)
  const train = alignTable(await readOneTableFile(join(dir, 'train.csv')))
  const t0 = performance.now()
  const { state } = fitModel(train)
  const trainSeconds = (performance.now() - t0) / 1000
  const test = alignForModel(await readOneTableFile(join(dir, 'test.csv')), state.payload.variables)
  const t1 = performance.now()
  const { results } = detectBatch(createScorer(state), test, {
    slidingWindow: state.params.slidingWindow,
    // Every variable ranked, so HitRate@150% is never cut short by MVAD's 10-contributor default.
    topContributorCount: test.variables.length,
    trainingTail: {
      rows: state.payload.trainingTail,
      lastTimestamp: train.timestamps[train.timestamps.length - 1] ?? 0,
    },
  })
  const detectSeconds = (performance.now() - t1) / 1000
  const labels = parseLabelsCsv(await readFile(join(dir, 'labels.csv'), 'utf8'), join(dir, 'labels.csv'))
  const interpPath = join(dir, 'interpretation.csv')
  const causes = existsSync(interpPath)
    ? parseInterpretationCsv(await readFile(interpPath, 'utf8'), interpPath)
    : undefined
  return { kind, entity, report: evaluateResults(results, labels, causes), trainSeconds, detectSeconds }
}

const f3 = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(3))

function entityLine(r: EntityResult): string {
  const m = r.report
  return (
    `${`${r.kind}/${r.entity}`.padEnd(22)} bestF1 ${f3(m.bestF1)}  aucPR ${f3(m.aucPR)}  F1 ${f3(m.f1)}  ` +
    `paF1 ${f3(m.paF1)}  hit100 ${f3(m.hit100)}  hit150 ${f3(m.hit150)}  ` +
    `detected ${m.detected}/${m.rows} (labelled ${m.positives})  train ${r.trainSeconds.toFixed(1)} s  detect ${r.detectSeconds.toFixed(1)} s`
  )
}

function kindTable(results: readonly EntityResult[]): string {
  const header = `| kind | n | ${METRICS.join(' | ')} | train s | detect s |`
  const lines = [header, `|${'---|'.repeat(METRICS.length + 4)}`]
  for (const kind of KINDS) {
    const rows = results.filter((r) => r.kind === kind)
    if (rows.length === 0) continue
    const cells = METRICS.map((key) => {
      const ours = f3(meanFinite(rows.map((r) => r.report[key])))
      return `${ours} (${f3(PCA_FLOOR[kind]?.[key])})`
    })
    const train = meanFinite(rows.map((r) => r.trainSeconds)).toFixed(1)
    const detect = meanFinite(rows.map((r) => r.detectSeconds)).toFixed(1)
    lines.push(`| ${kind} | ${rows.length} | ${cells.join(' | ')} | ${train} | ${detect} |`)
  }
  lines.push(
    '',
    'Cells: ours (PCA floor from the bench README); entity-wise means; train/detect s = mean seconds per entity.',
  )
  return lines.join('\n')
}

async function main(): Promise<void> {
  if (!existsSync(benchDir)) {
    process.stderr.write(`bench folder ${benchDir} not found; set BENCH_DIR\n`)
    process.exitCode = 2
    return
  }
  const filters = process.argv.slice(2)
  const wanted = (kind: string, entity: string): boolean =>
    filters.length === 0 || filters.some((f) => f === kind || f === `${kind}/${entity}`)
  const results: EntityResult[] = []
  const started = performance.now()
  process.stdout.write(
    `bench:quality on ${benchDir} (${cpus()[0]?.model ?? 'cpu'} ×${cpus().length}, node ${process.version})\n`,
  )
  for (const kind of KINDS) {
    if (!existsSync(join(benchDir, kind))) continue
    for (const entity of listDirs(join(benchDir, kind))) {
      if (!wanted(kind, entity)) continue
      const r = await runEntity(kind, entity)
      results.push(r)
      process.stdout.write(`${entityLine(r)}\n`)
    }
  }
  process.stdout.write(`\n${kindTable(results)}\n\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s\n`)
  const jsonOut = process.env.BENCH_JSON
  if (jsonOut !== undefined && jsonOut !== '') await writeFile(jsonOut, `${JSON.stringify(results, null, 2)}\n`)
}

await main()
