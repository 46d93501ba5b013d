/** `mvad evaluate`: results.jsonl + labels.csv [+ interpretation.csv] → metrics table (or JSON). */
import { evaluateResults, type EvaluationReport } from '../../eval/evaluate.js'
import type { AnomalyState } from '../../domain/types.js'
import { parseInterpretationCsv, parseLabelsCsv, type CauseSegment } from '../../eval/labels.js'
import { readResultsJsonl, readText } from '../io.js'
import type { CliContext } from './context.js'

export interface EvaluateOptions {
  results: string
  labels: string
  interpretation?: string
  json?: boolean
}

const ROWS: [keyof EvaluationReport, string][] = [
  ['bestF1', 'best point-wise F1 over thresholds on score'],
  ['aucPR', 'average precision of score'],
  ['precision', 'precision of isAnomaly'],
  ['recall', 'recall of isAnomaly'],
  ['f1', 'point-wise F1 of isAnomaly'],
  ['paF1', 'point-adjusted F1 of isAnomaly'],
  ['hit100', 'interpretation HitRate@100%'],
  ['hit150', 'interpretation HitRate@150%'],
]

export function formatReport(r: EvaluationReport): string {
  const lines = ROWS.map(([key, meaning]) => {
    const v = r[key]
    return `${key.padEnd(10)} ${Number.isFinite(v) ? v.toFixed(3) : '    –'}  ${meaning}`
  })
  lines.push(
    `rows ${r.rows} (labelled anomalous ${r.positives}, detected ${r.detected}, unscored ${r.unscored}); best threshold ${Number.isFinite(r.bestThreshold) ? r.bestThreshold.toPrecision(4) : '–'}`,
  )
  return `${lines.join('\n')}\n`
}

export async function evaluateCommand(opts: EvaluateOptions, ctx: CliContext): Promise<void> {
  const results = await readResultsJsonl(opts.results)
  const labels = parseLabelsCsv(await readText(opts.labels, 'labels file'), opts.labels)
  const causes =
    opts.interpretation === undefined
      ? undefined
      : parseInterpretationCsv(await readText(opts.interpretation, 'interpretation file'), opts.interpretation)
  const report = evaluateResults(results, labels, causes)
  if (causes !== undefined) warnIfTooFewContributors(results, causes, ctx)
  if (report.rows > 0 && report.unscored === report.rows) {
    ctx.stderr.write(
      `warning: none of the ${report.rows} labelled timestamps of ${opts.labels} has a scored result in ${opts.results} (do they cover the same period?); every labelled anomaly counts as missed\n`,
    )
  }
  if (report.rows > 0 && report.positives === 0) {
    ctx.stderr.write(
      `warning: ${opts.labels} marks none of its ${report.rows} timestamps anomalous (1): recall, F1 and the score-based metrics are not defined\n`,
    )
  }
  if (opts.json === true) {
    // NaN is not JSON: "not applicable" metrics become null.
    ctx.stdout.write(
      `${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`,
    )
  } else {
    ctx.stdout.write(formatReport(report))
  }
}

/**
 * HitRate@150% of a segment with k causes needs ⌈1.5·k⌉ contributors per row: results detected with fewer (the default
 * 10) score low through no fault of the model. Said, not refused: a model with fewer variables lists them all.
 */
function warnIfTooFewContributors(
  results: readonly AnomalyState[],
  causes: readonly CauseSegment[],
  ctx: CliContext,
): void {
  // Reduced, not spread: a results file may hold a million rows, over the arguments a call may take.
  const listed = results.reduce((most, r) => Math.max(most, r.value?.interpretation.length ?? 0), 0)
  const mostCauses = causes.reduce((most, c) => Math.max(most, c.variables.length), 0)
  const needed = Math.ceil(1.5 * mostCauses)
  if (listed === 0 || listed >= needed || listed >= 30) return
  // Variables named anywhere (contributors and their changed correlations). When no more are named than a row lists,
  // the rows already list every variable of the model (a model of 19 variables, detected with 30): nothing to add.
  const named = new Set<string>()
  for (const r of results)
    for (const c of r.value?.interpretation ?? []) {
      named.add(c.variable)
      for (const v of c.correlationChanges.changedVariables) named.add(v)
    }
  if (named.size <= listed) return
  const advice = `detect with --top-contributors ${Math.min(30, needed)}`
  ctx.stderr.write(
    `warning: the results list at most ${listed} contributors per row; HitRate@150% needs ${needed} for the segments with ${mostCauses} causes (${advice})\n`,
  )
}
