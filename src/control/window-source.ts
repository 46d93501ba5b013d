/**
 * The windows history in Redis as a data source: the rows the stream keeps for an entity (up to the longest sliding
 * window of its models), aligned and gap-filled as they were scored. Warm-start rows (the model's training tail,
 * which carry no timestamps) are left out. The window's columns are named by the entity's current model — only when
 * that model still has the layout the window was written for.
 */
import type { AlignedSeries } from '../domain/types.js'
import { rangeIndices } from '../data/align.js'
import { ServiceError } from '../errors.js'
import type { BindingStore } from '../state/binding-store.js'
import type { ModelStore } from '../state/model-store.js'
import type { WindowStore } from '../state/window-store.js'
import { layoutKeyOf } from '../stream/model-runtime.js'
import type { TimeRange } from '../data/table.js'

export interface WindowSourceDeps {
  windows: WindowStore
  bindings: BindingStore
  models: ModelStore
}

export async function loadWindowSource(
  entity: string,
  /** As for the other sources: the variables to keep (exactly these for detection), the rows to keep. */
  options: { variables?: readonly string[]; exactVariables: boolean; range?: TimeRange },
  deps: WindowSourceDeps,
): Promise<{ series: AlignedSeries; dataSource: string }> {
  const dataSource = `redis-window://${entity}`
  const stored = await deps.windows.load(entity)
  if (stored === undefined) {
    throw new ServiceError('NoData', `entity ${entity} has no window in Redis (nothing scored yet, or it expired)`)
  }
  const binding = await deps.bindings.get(entity)
  const ready = binding === undefined ? undefined : await deps.models.getReadyState(binding.modelId, binding.version)
  if (ready === undefined || layoutKeyOf(ready.info.variables) !== stored.modelKey) {
    throw new ServiceError(
      'InvalidRequestParameterError',
      `the window of entity ${entity} cannot be read: its variables are named by the entity's model, which ` +
        `${ready === undefined ? 'is not bound or not READY' : 'now has other variables'}`,
    )
  }
  const all = ready.info.variables
  const wanted = options.variables ?? all
  const missing = wanted.filter((v) => !all.includes(v))
  if (missing.length > 0) {
    throw new ServiceError('ColumnNotFound', `${dataSource}: variables not in the window: ${missing.join(', ')}`)
  }
  if (options.exactVariables && wanted.length !== all.length) {
    const extra = all.filter((v) => !wanted.includes(v))
    throw new ServiceError('UnknownVariable', `${dataSource}: variables not in the model: ${extra.join(', ')}`)
  }
  const columns = wanted.map((v) => all.indexOf(v))
  const kept = stored.timestamps.flatMap((t, i) => (Number.isFinite(t) ? [i] : []))
  const timestamps = kept.map((i) => stored.timestamps[i] as number)
  const [lo, hi] = rangeIndices(timestamps, options.range)
  const rows = kept
    .slice(lo, hi)
    .map((i) => Float64Array.from(columns, (c) => (stored.rows[i] as Float64Array)[c] as number))
  const selected = timestamps.slice(lo, hi)
  if (rows.length === 0) throw new ServiceError('NoData', `${dataSource}: no rows in the requested time range`)
  const series: AlignedSeries = {
    variables: [...wanted],
    timestamps: selected,
    rows,
    // Gaps were filled as the frames were scored; which values were filled is not kept with the window.
    variableStates: wanted.map((variable) => ({
      variable,
      filledNARatio: 0,
      effectiveCount: rows.length,
      firstTimestamp: selected[0] ?? null,
      lastTimestamp: selected[selected.length - 1] ?? null,
    })),
  }
  return { series, dataSource }
}
