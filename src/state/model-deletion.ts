/**
 * Deleting a model and binding entities to it, safe against each other across instances and processes.
 *
 * A delete checks that no entity is bound to the model, then deletes it; a deploy checks that the model is READY,
 * then binds. Run on two instances at once, each could pass its check before the other wrote, and entities ended
 * bound to a deleted model (their readings dead-lettered until a deploy of another model). The keys belong to two
 * stores, so there is no one Redis transaction over them; instead each side writes first and reads after:
 * - a delete marks the model (`beginDelete`), then reads the bindings, then deletes — only while its mark holds;
 * - a bind writes the bindings, then reads the mark and the model; on a mark or a model gone, it puts the entities'
 *   previous bindings back and fails.
 * Whichever side reads second sees the other's write, so the delete sees the binding and refuses, or the bind sees
 * the mark (or the model gone) and undoes itself. Both may lose — a bind undone for a delete that then refused, as
 * the binding was there — and can be sent again; both never win.
 */
import { ServiceError } from '../errors.js'
import { entitiesUsingModel, type BindingStore, type ModelBinding, type ModelRef } from './binding-store.js'
import type { ModelStore } from './model-store.js'

/** A delete's few Redis round trips take milliseconds; a delete that died blocks deploys of its model this long. */
export const DELETE_HOLD_MS = 30_000

export interface MarkWait {
  /** How long a delete waits for another delete of the same model to end. */
  timeoutMs: number
  pollMs: number
  sleep: (ms: number) => Promise<void>
  now: () => number
}

const DEFAULT_MARK_WAIT: MarkWait = {
  timeoutMs: 5_000,
  pollMs: 50,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => Date.now(),
}

/**
 * Deletes a model that no entity uses as its default or shadow; false when there is no such model. Throws
 * `ModelInUse` when an entity uses it (or another delete of it did not end in time).
 */
export async function deleteUnboundModel(
  models: ModelStore,
  bindings: BindingStore,
  modelId: string,
  wait: MarkWait = DEFAULT_MARK_WAIT,
): Promise<boolean> {
  const token = await takeDeleteMark(models, modelId, wait)
  try {
    const users = entitiesUsingModel(await bindings.list(), modelId)
    if (users.length > 0) {
      const shown = users.slice(0, 10).join(', ') + (users.length > 10 ? `, … (${users.length})` : '')
      throw new ServiceError('ModelInUse', `model ${modelId} is deployed to ${shown}; deploy another model there first`)
    }
    const outcome = await models.deleteModel(modelId, token)
    if (outcome === 'markLost') {
      throw new ServiceError(
        'RedisError',
        `deleting model ${modelId} took longer than its ${DELETE_HOLD_MS / 1000} s hold, so a deploy may have ` +
          'bound it meanwhile; nothing was deleted, try again',
        { retriable: true },
      )
    }
    return outcome === 'deleted'
  } finally {
    await models.endDelete(modelId, token)
  }
}

async function takeDeleteMark(models: ModelStore, modelId: string, wait: MarkWait): Promise<string> {
  const deadline = wait.now() + wait.timeoutMs
  for (;;) {
    const token = await models.beginDelete(modelId, DELETE_HOLD_MS)
    if (token !== undefined) return token
    if (wait.now() >= deadline) {
      throw new ServiceError('ModelInUse', `model ${modelId} is being deleted by another request; try again`, {
        retriable: true,
      })
    }
    await wait.sleep(wait.pollMs)
  }
}

/** One entity's new binding and the one it replaces (undefined: it had none). */
export interface BindingChange {
  entity: string
  binding: ModelBinding
  previous: ModelBinding | undefined
}

/**
 * Writes `changes`, which bind entities to `target`, then checks that `target` was not deleted meanwhile; if it was,
 * or is being deleted, puts the previous bindings back and throws `ModelNotExist`.
 */
export async function bindToModel(
  models: ModelStore,
  bindings: BindingStore,
  target: ModelRef,
  changes: readonly BindingChange[],
): Promise<void> {
  // Checked before writing too, so that consumers do not load a model about to go only to drop it again.
  if (await models.isBeingDeleted(target.modelId)) throw beingDeleted(target.modelId)
  for (const { entity, binding } of changes) await bindings.set(entity, binding)
  const deleting = await models.isBeingDeleted(target.modelId)
  if (!deleting && (await stillServable(models, target))) return
  for (const { entity, previous } of changes) {
    if (previous === undefined) await bindings.delete(entity)
    else await bindings.set(entity, previous)
  }
  if (deleting) throw beingDeleted(target.modelId)
  throw new ServiceError(
    'ModelNotExist',
    `model ${target.modelId}${target.version === undefined ? '' : ` version ${target.version}`} was deleted while ` +
      'being deployed; the entities keep their previous models',
  )
}

function beingDeleted(modelId: string): ServiceError {
  return new ServiceError(
    'ModelNotExist',
    `model ${modelId} is being deleted; the entities keep their previous models (if the delete is refused, deploy again)`,
  )
}

async function stillServable(models: ModelStore, target: ModelRef): Promise<boolean> {
  if (target.version !== undefined) return (await models.getInfo(target.modelId, target.version))?.status === 'READY'
  return (await models.listVersions(target.modelId)).some((info) => info.status === 'READY')
}
