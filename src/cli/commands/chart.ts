/** `mvad chart`: results.jsonl [+ labels.csv] → chart.svg or chart.png. */
import { extname } from 'node:path'
import { renderChartSvg } from '../../eval/chart.js'
import { parseLabelsCsv } from '../../eval/labels.js'
import { svgToPng } from '../../eval/png.js'
import { UsageError } from '../exit.js'
import { assertWritable, readResultsJsonl, readText, writeText } from '../io.js'
import type { CliContext } from './context.js'

export interface ChartOptions {
  results: string
  labels?: string
  out: string
  threshold?: number
  width?: number
  height?: number
  title?: string
}

export async function chartCommand(opts: ChartOptions, ctx: CliContext): Promise<void> {
  const ext = extname(opts.out).toLowerCase()
  if (ext !== '.svg' && ext !== '.png') throw new UsageError(`--out must end in .svg or .png, got '${opts.out}'`)
  await assertWritable(opts.out, '--out', [opts.results, ...(opts.labels === undefined ? [] : [opts.labels])])
  const results = await readResultsJsonl(opts.results)
  const labels =
    opts.labels === undefined ? undefined : parseLabelsCsv(await readText(opts.labels, 'labels file'), opts.labels)
  if (labels !== undefined && labels.timestamps.length > 0) {
    // Labels from another period draw nothing: say so rather than leave an empty band to puzzle over.
    const times = new Set(results.map((r) => r.timestamp))
    if (!labels.timestamps.some((t) => times.has(t)))
      ctx.stderr.write(
        `warning: none of the ${labels.timestamps.length} timestamps of ${opts.labels} is in ${opts.results} (do they cover the same period?); the chart shows no labels\n`,
      )
  }
  const svg = renderChartSvg(
    {
      timestamps: results.map((r) => r.timestamp),
      scores: results.map((r) => r.value?.score ?? null),
      isAnomaly: results.map((r) => r.value?.isAnomaly === true),
      ...(labels === undefined ? {} : { labels }),
      ...(opts.threshold === undefined ? {} : { threshold: opts.threshold }),
    },
    {
      ...(opts.width === undefined ? {} : { width: opts.width }),
      ...(opts.height === undefined ? {} : { height: opts.height }),
      title: opts.title ?? `Anomaly score — ${opts.results}`,
    },
  )
  await writeText(opts.out, ext === '.svg' ? svg : svgToPng(svg))
  ctx.stderr.write(`chart of ${results.length} rows written to ${opts.out}\n`)
}
