/** Charts a job asked for (`charts: true`): the `mvad chart` rendering of its results, saved as SVG and PNG. */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AnomalyState } from '../../domain/types.js'
import { renderChartSvg } from '../../eval/chart.js'
import { svgToPng } from '../../eval/png.js'

export async function saveCharts(
  dir: string,
  name: string,
  title: string,
  results: readonly AnomalyState[],
): Promise<string[]> {
  await mkdir(dir, { recursive: true })
  const svg = renderChartSvg(
    {
      timestamps: results.map((r) => r.timestamp),
      scores: results.map((r) => r.value?.score ?? null),
      isAnomaly: results.map((r) => r.value?.isAnomaly === true),
    },
    { title },
  )
  const svgPath = join(dir, `${name}.svg`)
  const pngPath = join(dir, `${name}.png`)
  await writeFile(svgPath, svg)
  await writeFile(pngPath, svgToPng(svg))
  return [svgPath, pngPath]
}
