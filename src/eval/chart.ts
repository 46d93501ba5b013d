/**
 * Renders detection results as a self-contained SVG string: the score line, an optional threshold, labelled
 * segments shaded behind the plot, and two strips below it (detected anomalies, labels) so both stay readable on
 * long series. Long series are reduced to a min/max envelope per pixel column, keeping spikes visible at any length.
 * Pure (string building); PNG conversion lives in ./png.ts.
 */
import type { EpochMs } from '../domain/types.js'
import { formatIsoTimestamp } from '../data/timestamp.js'

export interface ChartInput {
  timestamps: readonly EpochMs[]
  /** `null` where the row has no score (not enough history). */
  scores: readonly (number | null)[]
  isAnomaly: readonly boolean[]
  /** Ground truth to draw, by timestamp (1 = anomalous). */
  labels?: { timestamps: readonly EpochMs[]; labels: ArrayLike<number> }
  /** Score threshold to draw as a dashed line. */
  threshold?: number
}

/** Options of {@link renderChartSvg}. */
export interface ChartOptions {
  /** @defaultValue 1200 */
  width?: number
  /** @defaultValue 420 */
  height?: number
  /** @defaultValue 'Anomaly score' */
  title?: string
}

const COLORS = { score: '#1f77b4', threshold: '#ff7f0e', anomaly: '#d62728', label: '#9467bd', axis: '#444' } as const

function escapeXml(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  )
}

const fmt = (v: number): string => (Math.round(v * 10) / 10).toString()

/** Runs of consecutive `true` as [firstTimestamp, lastTimestamp]. */
function runs(timestamps: readonly EpochMs[], flags: (i: number) => boolean): [EpochMs, EpochMs][] {
  const out: [EpochMs, EpochMs][] = []
  let start: EpochMs | undefined
  for (let i = 0; i <= timestamps.length; i++) {
    const on = i < timestamps.length && flags(i)
    if (on && start === undefined) start = timestamps[i]
    if (!on && start !== undefined) {
      out.push([start, timestamps[i - 1] ?? start])
      start = undefined
    }
  }
  return out
}

function niceStep(span: number, target: number): number {
  const raw = span / target
  const pow = 10 ** Math.floor(Math.log10(raw))
  const n = raw / pow
  return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * pow
}

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** Tick spacings a reader counts in: seconds, minutes, hours, days (UTC). */
const TIME_STEPS = [
  ...[1, 2, 5, 10, 15, 30].map((s) => s * SECOND),
  ...[1, 2, 5, 10, 15, 30].map((m) => m * MINUTE),
  ...[1, 2, 3, 6, 12].map((h) => h * HOUR),
  ...[1, 2, 7, 14, 28, 91, 182, 364].map((d) => d * DAY),
]

/**
 * Time-axis ticks for [t0, t1] (epoch ms): at most `maxTicks` of them, on round UTC times — the smallest spacing of
 * TIME_STEPS that fits, each tick a multiple of it (a week's ticks fall on multiples of 7 days from the epoch) — so
 * labels read 10:00, 10:30, 11:00 rather than 10:07, 10:41. Labels carry seconds only when the spacing needs them.
 */
export function timeTicks(t0: number, t1: number, maxTicks: number): { time: number; label: string }[] {
  if (!(t1 > t0) || maxTicks < 1) return []
  const span = t1 - t0
  const step =
    TIME_STEPS.find((s) => Math.floor(t1 / s) - Math.ceil(t0 / s) + 1 <= maxTicks) ?? niceStep(span, maxTicks)
  const ticks: { time: number; label: string }[] = []
  for (let time = Math.ceil(t0 / step) * step; time <= t1; time += step) {
    const iso = formatIsoTimestamp(time).replace('T', ' ')
    ticks.push({ time, label: step < MINUTE ? iso.slice(0, 19) : iso.slice(0, 16) })
  }
  return ticks
}

export function renderChartSvg(input: ChartInput, options: ChartOptions = {}): string {
  const width = options.width ?? 1200
  const height = options.height ?? 420
  const title = options.title ?? 'Anomaly score'
  const m = { left: 64, right: 20, top: 36, bottom: 78 }
  const plotW = width - m.left - m.right
  const plotH = height - m.top - m.bottom
  const ts = input.timestamps
  const t0 = ts[0] ?? 0
  const t1 = ts[ts.length - 1] ?? t0 + 1
  const tSpan = Math.max(1, t1 - t0)
  const x = (t: number): number => m.left + ((t - t0) / tSpan) * plotW

  let maxScore = input.threshold ?? 0
  for (const s of input.scores) if (s !== null && Number.isFinite(s) && s > maxScore) maxScore = s
  const yMax = maxScore > 0 ? maxScore * 1.05 : 1
  const y = (v: number): number => m.top + plotH - (Math.max(0, Math.min(v, yMax)) / yMax) * plotH

  const parts: string[] = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${m.left}" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  )

  // Labelled segments behind the plot.
  const labelRuns =
    input.labels === undefined ? [] : runs(input.labels.timestamps, (i) => Boolean(input.labels?.labels[i]))
  const band = (a: number, b: number, top: number, h: number, color: string, opacity: number): string =>
    `<rect x="${fmt(x(a))}" y="${fmt(top)}" width="${fmt(Math.max(1, x(b) - x(a)))}" height="${fmt(h)}" fill="${color}" fill-opacity="${opacity}"/>`
  for (const [a, b] of labelRuns) parts.push(band(a, b, m.top, plotH, COLORS.label, 0.15))

  // Axes and y grid.
  const yStep = niceStep(yMax, 5)
  for (let v = 0; v <= yMax + 1e-12; v += yStep) {
    parts.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${fmt(y(v))}" y2="${fmt(y(v))}" stroke="#eee"/>`,
      `<text x="${m.left - 6}" y="${fmt(y(v) + 4)}" text-anchor="end" fill="${COLORS.axis}">${Number(v.toPrecision(3))}</text>`,
    )
  }
  parts.push(
    `<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="${COLORS.axis}"/>`,
  )
  // Round times, one label per ~180 px; a label near an edge is anchored to stay inside the picture.
  for (const { time, label } of timeTicks(t0, t0 + tSpan, Math.max(2, Math.floor(plotW / 180)))) {
    const px = x(time)
    const anchor = px - m.left < 60 ? 'start' : m.left + plotW - px < 60 ? 'end' : 'middle'
    parts.push(
      `<line x1="${fmt(px)}" x2="${fmt(px)}" y1="${m.top + plotH}" y2="${m.top + plotH + 4}" stroke="${COLORS.axis}"/>`,
      `<text x="${fmt(px)}" y="${height - 8}" text-anchor="${anchor}" fill="${COLORS.axis}">${label}</text>`,
    )
  }

  // Score: min/max envelope per pixel column.
  const columns = new Map<number, { lo: number; hi: number }>()
  input.scores.forEach((s, i) => {
    if (s === null || !Number.isFinite(s)) return
    const px = Math.round(x(ts[i] ?? t0))
    const c = columns.get(px)
    if (c === undefined) columns.set(px, { lo: s, hi: s })
    else {
      c.lo = Math.min(c.lo, s)
      c.hi = Math.max(c.hi, s)
    }
  })
  const path: string[] = []
  for (const [px, c] of [...columns].sort((a, b) => a[0] - b[0])) {
    path.push(`${path.length === 0 ? 'M' : 'L'}${px} ${fmt(y(c.hi))}`)
    if (c.lo !== c.hi) path.push(`L${px} ${fmt(y(c.lo))}`)
  }
  if (path.length > 0) {
    parts.push(`<path d="${path.join(' ')}" fill="none" stroke="${COLORS.score}" stroke-width="1"/>`)
  }
  if (input.threshold !== undefined && Number.isFinite(input.threshold)) {
    const ty = fmt(y(input.threshold))
    parts.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${ty}" y2="${ty}" stroke="${COLORS.threshold}" stroke-dasharray="6 4"/>`,
    )
  }

  // Strips below the plot.
  const stripTop = m.top + plotH + 10
  parts.push(`<text x="${m.left - 6}" y="${stripTop + 8}" text-anchor="end" fill="${COLORS.anomaly}">detected</text>`)
  for (const [a, b] of runs(ts, (i) => input.isAnomaly[i] === true)) {
    parts.push(band(a, b, stripTop, 10, COLORS.anomaly, 1))
  }
  if (input.labels !== undefined) {
    parts.push(`<text x="${m.left - 6}" y="${stripTop + 24}" text-anchor="end" fill="${COLORS.label}">labels</text>`)
    for (const [a, b] of labelRuns) parts.push(band(a, b, stripTop + 16, 10, COLORS.label, 1))
  }

  // Legend.
  const legend: [string, string][] = [['score', COLORS.score]]
  if (input.threshold !== undefined) legend.push(['threshold', COLORS.threshold])
  legend.push(['detected anomaly', COLORS.anomaly])
  if (input.labels !== undefined) legend.push(['labelled anomaly', COLORS.label])
  let lx = width - m.right - legend.reduce((w, [name]) => w + 28 + name.length * 7, 0)
  for (const [name, color] of legend) {
    parts.push(
      `<rect x="${lx}" y="12" width="14" height="10" fill="${color}"/>`,
      `<text x="${lx + 18}" y="21">${escapeXml(name)}</text>`,
    )
    lx += 28 + name.length * 7
  }
  parts.push('</svg>')
  return parts.join('\n')
}
