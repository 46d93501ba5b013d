import { describe, expect, it } from 'vitest'
import { renderChartSvg } from '../../../src/eval/chart.js'
import { svgToPng } from '../../../src/eval/png.js'

const MIN = 60_000
const n = 5000
const input = {
  timestamps: Array.from({ length: n }, (_, i) => i * MIN),
  scores: Array.from({ length: n }, (_, i) => (i < 10 ? null : i === 2500 ? 5 : 0.2 + 0.01 * Math.sin(i))),
  isAnomaly: Array.from({ length: n }, (_, i) => i >= 2500 && i < 2510),
  labels: {
    timestamps: Array.from({ length: n }, (_, i) => i * MIN),
    labels: Array.from({ length: n }, (_, i) => (i >= 2490 && i < 2520 ? 1 : 0)),
  },
  threshold: 0.5,
}

describe('renderChartSvg', () => {
  it('draws a bounded-size SVG with score, threshold, anomalies and labels', () => {
    const svg = renderChartSvg(input, { width: 800, title: 'a <b>' })
    expect(svg.startsWith('<svg')).toBe(true)
    expect(svg).toContain('a &lt;b&gt;')
    expect(svg).toContain('stroke-dasharray') // threshold
    expect(svg).toContain('detected anomaly')
    expect(svg).toContain('labelled anomaly')
    // envelope: at most ~2 path points per pixel column, whatever the series length
    const points = (svg.match(/[ML]\d+ /g) ?? []).length
    expect(points).toBeLessThanOrEqual(2 * 800)
    expect(svg.length).toBeLessThan(60_000)
  })
  it('handles an empty series', () => {
    expect(renderChartSvg({ timestamps: [], scores: [], isAnomaly: [] })).toContain('</svg>')
  })
  it('converts to PNG', () => {
    const png = svgToPng(renderChartSvg(input, { width: 300, height: 200 }))
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG')
  })
})
