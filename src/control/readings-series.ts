/**
 * Readings of one entity (from a readings-topic range) → an aligned series, with the live pipeline's alignment:
 * readings are ordered by (timestamp, offset), gathered into frames by the stream's FrameAssembler and gaps filled
 * by its `fillMissing`, so a replayed range yields exactly the rows the live service scored. Pure.
 */
import type { AlignedSeries, EpochMs, FillNAMethod, VariableState } from '../domain/types.js'
import { FrameAssembler, fillMissing } from '../stream/frame-assembler.js'

export interface RangeReading {
  variable: string
  timestamp: EpochMs
  value: number
  offset: bigint
  partition: number
}

export interface SeriesFromReadingsOptions {
  /** Model variables in model order; when absent, every variable seen, sorted by name (as training does). */
  variables?: readonly string[]
  fillNAMethod: FillNAMethod
  paddingValue: number
}

export interface SeriesFromReadings {
  series: AlignedSeries
  /** Readings of variables outside `variables` (reported as failed records, not dropped silently). */
  unknownVariable: RangeReading[]
}

export function seriesFromReadings(
  readings: readonly RangeReading[],
  options: SeriesFromReadingsOptions,
): SeriesFromReadings {
  const variables = options.variables ?? [...new Set(readings.map((r) => r.variable))].sort()
  const ordered = [...readings].sort(
    (a, b) => a.timestamp - b.timestamp || a.partition - b.partition || (a.offset < b.offset ? -1 : 1),
  )
  const assembler = new FrameAssembler(variables, 0)
  const unknownVariable: RangeReading[] = []
  const timestamps: EpochMs[] = []
  const rows: Float64Array[] = []
  const filled = new Array<number>(variables.length).fill(0)
  const present = new Array<number>(variables.length).fill(0)
  const first = new Array<EpochMs | null>(variables.length).fill(null)
  const last = new Array<EpochMs | null>(variables.length).fill(null)
  const take = (frames: ReturnType<FrameAssembler['drain']>): void => {
    for (const frame of frames) {
      frame.values.forEach((value, j) => {
        if (Number.isNaN(value)) filled[j] = (filled[j] ?? 0) + 1
        else {
          present[j] = (present[j] ?? 0) + 1
          first[j] ??= frame.timestamp
          last[j] = frame.timestamp
        }
      })
      rows.push(fillMissing(frame.values, rows[rows.length - 1], options.fillNAMethod, options.paddingValue))
      timestamps.push(frame.timestamp)
    }
  }
  for (const reading of ordered) {
    if (!assembler.hasVariable(reading.variable)) {
      unknownVariable.push(reading)
      continue
    }
    // In timestamp order nothing is late; a repeated (variable, timestamp) keeps the latest offset's value.
    assembler.add({
      variable: reading.variable,
      timestamp: reading.timestamp,
      value: reading.value,
      offset: reading.offset,
    })
    take(assembler.drain())
  }
  take(assembler.flush())
  const variableStates: VariableState[] = variables.map((variable, j) => ({
    variable,
    filledNARatio: rows.length === 0 ? 0 : (filled[j] ?? 0) / rows.length,
    effectiveCount: present[j] ?? 0,
    firstTimestamp: first[j] ?? null,
    lastTimestamp: last[j] ?? null,
  }))
  return { series: { variables, timestamps, rows, variableStates }, unknownVariable }
}
