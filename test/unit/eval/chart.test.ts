import { describe, expect, it } from 'vitest'
import { renderChartSvg, timeTicks } from '../../../src/eval/chart.js'
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
  it('puts time ticks on round UTC times, as many as fit', () => {
    const at = (iso: string): number => Date.parse(iso)
    // 10:07 → 13:41, at most 4 ticks: hourly (30-minute spacing would give 7).
    expect(timeTicks(at('2024-01-09T10:07:00Z'), at('2024-01-09T13:41:00Z'), 4).map((t) => t.label)).toEqual([
      '2024-01-09 11:00',
      '2024-01-09 12:00',
      '2024-01-09 13:00',
    ])
    // The same span with room for 8: every 30 minutes from 10:30.
    expect(timeTicks(at('2024-01-09T10:07:00Z'), at('2024-01-09T13:41:00Z'), 8)).toHaveLength(7)
    expect(timeTicks(at('2024-01-09T10:07:00Z'), at('2024-01-09T13:41:00Z'), 8)[0]?.label).toBe('2024-01-09 10:30')
    // Three days, 4 ticks: daily at midnight UTC.
    expect(timeTicks(at('2024-01-01T05:00:00Z'), at('2024-01-04T05:00:00Z'), 4).map((t) => t.label)).toEqual([
      '2024-01-02 00:00',
      '2024-01-03 00:00',
      '2024-01-04 00:00',
    ])
    // Seconds only when the spacing is under a minute.
    expect(timeTicks(at('2024-01-09T10:00:03Z'), at('2024-01-09T10:00:58Z'), 3).map((t) => t.label)).toEqual([
      '2024-01-09 10:00:15',
      '2024-01-09 10:00:30',
      '2024-01-09 10:00:45',
    ])
    expect(timeTicks(5, 5, 4)).toEqual([])
  })
})
