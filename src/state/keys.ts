/**
 * Every Redis key name, in one place. Keys of one entity share the `{entity:<id>}` hash tag and keys of one model
 * share `{model:<id>}`, so multi-key Lua scripts touch a single Redis Cluster slot.
 */
export interface KeySpace {
  /** List of window rows (binary, oldest first). */
  windowRows(entity: string): string
  /** Hash: coveredOffset, lastTimestamp, modelKey. */
  windowMeta(entity: string): string
  /** List of serialized events persisted with the window but not yet acknowledged by Kafka. */
  windowPendingEvents(entity: string): string
  /** String: JSON binding {modelId, version}. */
  binding(entity: string): string
  /** Set of entities that have a binding. */
  bindingIndex(): string
  /** Pub/sub channel announcing binding changes (message = entity). */
  bindingChanges(): string
  /** String: JSON model state of one version. */
  modelState(modelId: string, version: number): string
  /** Hash: version → JSON metadata {status, createdTime, ...}. */
  modelVersions(modelId: string): string
  /** Counter of a model's versions. */
  modelVersionSeq(modelId: string): string
  /** String with a TTL: the token of the delete of the model under way, its claim (state/model-deletion.ts). */
  modelDeleting(modelId: string): string
  /** Sorted set: tokens of the binds to the model under way, their claims, scored by when they end (ms). */
  modelBinding(modelId: string): string
  /** String: JSON job record. */
  job(jobId: string): string
  /** Sorted set of job ids by creation time (ms). */
  jobIndex(): string
  /** Sorted set of unfinished (CREATED / RUNNING) job ids by creation time: what the sweep reads. */
  openJobIndex(): string
  /** Sorted set of finished jobs whose final status is not known to be sent, by finish time (ms). */
  unsentFinalIndex(): string
  /** Set of model ids. */
  modelIndex(): string
  /** String: JSON detect-batch result (summary + rows), with a TTL. */
  batchResult(resultId: string): string
  /** String: the input offset a partition's windows reflect (WindowStore.saveProgress). */
  partitionProgress(scope: string, partition: number): string
  /** String: random token written once; its absence means Redis lost the service's data (state/store-marker.ts). */
  storeMarker(): string
}

export function keySpace(prefix: string): KeySpace {
  const p = prefix === '' ? '' : `${prefix}:`
  const entityTag = (entity: string): string => `{entity:${entity}}`
  const modelTag = (modelId: string): string => `{model:${modelId}}`
  return {
    windowRows: (entity) => `${p}window:${entityTag(entity)}:rows`,
    windowMeta: (entity) => `${p}window:${entityTag(entity)}:meta`,
    windowPendingEvents: (entity) => `${p}window:${entityTag(entity)}:pending`,
    binding: (entity) => `${p}binding:${entityTag(entity)}`,
    bindingChanges: () => `${p}bindings:changed`,
    bindingIndex: () => `${p}bindings`,
    modelState: (modelId, version) => `${p}model:${modelTag(modelId)}:v${version}`,
    modelVersions: (modelId) => `${p}model:${modelTag(modelId)}:versions`,
    modelVersionSeq: (modelId) => `${p}model:${modelTag(modelId)}:seq`,
    modelDeleting: (modelId) => `${p}model:${modelTag(modelId)}:deleting`,
    modelBinding: (modelId) => `${p}model:${modelTag(modelId)}:binding`,
    job: (jobId) => `${p}job:{job:${jobId}}`,
    jobIndex: () => `${p}jobs`,
    openJobIndex: () => `${p}jobs:open`,
    unsentFinalIndex: () => `${p}jobs:unsent-final`,
    modelIndex: () => `${p}models`,
    batchResult: (resultId) => `${p}result:{result:${resultId}}`,
    storeMarker: () => `${p}store:marker`,
    partitionProgress: (scope, partition) => `${p}progress:{progress:${scope}}:${partition}`,
  }
}
