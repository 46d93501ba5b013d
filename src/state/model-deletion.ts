/**
 * Deleting a model and binding entities to it, safe against each other across instances and processes.
 *
 * A delete checks that no entity is bound to the model, then deletes it; a deploy checks that the model is READY,
 * then binds. Run on two instances at once, each could pass its check before the other wrote, and entities ended
 * bound to a deleted model (their readings dead-lettered until a deploy of another model). The keys belong to two
 * stores, so there is no one Redis transaction over them; instead each side claims the model first and looks after:
 * - a delete takes the model's delete claim, then looks for bind claims and for bindings, then deletes — only while
 *   its claim holds;
 * - a bind takes a bind claim on every model its new bindings name, then looks for delete claims and checks that
 *   the models are still servable, then writes the bindings and lets its claims go.
 * Whichever side looks second sees the other's claim (or, if the other has finished, its bindings or the model
 * gone), so a bind never writes a binding to a model that a delete removes; both may refuse at once, never both go
 * ahead. A bind writes nothing it would have to undo, so a bind that fails or dies midway leaves bindings to models
 * that exist. Claims are held for CLAIM_HOLD_MS and renewed while the work goes on, so one left by a process that
 * died ends on its own. A bind's writes are fenced by its claims in Redis itself (a binding is written only while
 * they hold), so a bind whose claims lapsed while it worked (Redis unreachable, or the process stalled, for a whole
 * hold) writes nothing more, however late its writes arrive.
 */
import { ServiceError } from '../errors.js'
import { entitiesUsingModel, type BindingStore, type ModelBinding, type ModelRef } from './binding-store.js'
import type { ClaimKind, ModelStore } from './model-store.js'

/** How long a claim holds unless renewed (every third of it while its work goes on). */
export const CLAIM_HOLD_MS = 30_000

export interface ClaimWait {
  /** How long a delete waits for another delete of the same model to end. */
  timeoutMs: number
  pollMs: number
  sleep: (ms: number) => Promise<void>
  now: () => number
}

const DEFAULT_CLAIM_WAIT: ClaimWait = {
  timeoutMs: 5_000,
  pollMs: 50,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => Date.now(),
}

/**
 * Deletes a model that no entity uses as its default or shadow; false when there is no such model. Throws
 * `ModelInUse` when an entity uses it, or a bind to it or another delete of it is under way.
 */
export async function deleteUnboundModel(
  models: ModelStore,
  bindings: BindingStore,
  modelId: string,
  wait: ClaimWait = DEFAULT_CLAIM_WAIT,
): Promise<boolean> {
  const token = await takeDeleteClaim(models, modelId, wait)
  try {
    return await whileRenewed([{ models, modelId, kind: 'delete', token }], async () => {
      if (await models.isClaimed(modelId, 'bind')) {
        throw new ServiceError('ModelInUse', `model ${modelId} is being deployed by another request; try again`, {
          retriable: true,
        })
      }
      const users = entitiesUsingModel(await bindings.list(), modelId)
      if (users.length > 0) {
        const shown = users.slice(0, 10).join(', ') + (users.length > 10 ? `, … (${users.length})` : '')
        throw new ServiceError(
          'ModelInUse',
          `model ${modelId} is deployed to ${shown}; deploy another model there first`,
        )
      }
      const outcome = await models.deleteModel(modelId, token)
      if (outcome === 'claimLost') {
        throw new ServiceError(
          'RedisError',
          `deleting model ${modelId} outlasted its claim (Redis unreachable for ${CLAIM_HOLD_MS / 1000} s?), so a ` +
            'deploy may have bound it meanwhile; nothing was deleted, try again',
          { retriable: true },
        )
      }
      return outcome === 'deleted'
    })
  } finally {
    // The claim ends with its hold anyway: a failed release must not replace what the delete did.
    await models.releaseClaim(modelId, 'delete', token).catch(() => undefined)
  }
}

async function takeDeleteClaim(models: ModelStore, modelId: string, wait: ClaimWait): Promise<string> {
  const deadline = wait.now() + wait.timeoutMs
  for (;;) {
    const token = await models.claim(modelId, 'delete', CLAIM_HOLD_MS)
    if (token !== undefined) return token
    if (wait.now() >= deadline) {
      throw new ServiceError('ModelInUse', `model ${modelId} is being deleted by another request; try again`, {
        retriable: true,
      })
    }
    await wait.sleep(wait.pollMs)
  }
}

/** One entity's new binding. */
export interface BindingChange {
  entity: string
  binding: ModelBinding
}

/**
 * Writes `changes` unless a model they name (default or shadow) is being deleted (`ModelInUse`) or is not servable
 * any more (`ModelNotExist`): then writes nothing. Stops at the first write its lapsed claims refuse (`RedisError`).
 */
export async function bindToModels(
  models: ModelStore,
  bindings: BindingStore,
  changes: readonly BindingChange[],
): Promise<void> {
  const refs = namedModels(changes)
  const claims: Claim[] = []
  try {
    for (const { modelId } of refs) {
      const token = await models.claim(modelId, 'bind', CLAIM_HOLD_MS)
      if (token === undefined) throw new Error(`a bind claim on model ${modelId} was refused (binds share the model)`)
      claims.push({ models, modelId, kind: 'bind', token })
    }
    await whileRenewed(claims, async () => {
      for (const ref of refs) {
        // The claim first, then the model: a delete that ended between the two reads has removed it.
        if (await models.isClaimed(ref.modelId, 'delete')) {
          throw new ServiceError(
            'ModelInUse',
            `model ${ref.modelId} is being deleted by another request; nothing was bound (deploy again if that ` +
              'delete is refused)',
            { retriable: true },
          )
        }
        if (!(await servable(models, ref))) {
          const which = ref.version === undefined ? 'has no READY version' : `version ${ref.version} is not READY`
          throw new ServiceError(
            'ModelNotExist',
            `model ${ref.modelId} ${which} (deleted meanwhile?); nothing was bound`,
          )
        }
      }
      // Each write is fenced by the claims where it happens: once they lapsed (Redis unreachable, or this process
      // stalled, for a whole hold) a delete may have found neither claim nor binding and gone ahead, so no later
      // write may land. Those written before were there for any such delete to see.
      const fence = claims.map(({ modelId, token }) => ({ modelId, token }))
      const written: string[] = []
      for (const { entity, binding } of changes) {
        if (!(await bindings.setFenced(entity, binding, fence))) {
          throw new ServiceError(
            'RedisError',
            `the deploy's claims lapsed (Redis unreachable, or this process stalled, for ${CLAIM_HOLD_MS / 1000} s): ` +
              `${written.length === 0 ? 'nothing was bound' : `only ${written.join(', ')} were bound`}; deploy again`,
            { retriable: true },
          )
        }
        written.push(entity)
      }
    })
  } finally {
    for (const { modelId, token } of claims) await models.releaseClaim(modelId, 'bind', token).catch(() => undefined)
  }
}

/** The models (and pinned versions) the bindings name, each (model, version) once. */
function namedModels(changes: readonly BindingChange[]): ModelRef[] {
  const refs = new Map<string, ModelRef>()
  for (const { binding } of changes) {
    for (const ref of [binding, binding.shadow]) {
      if (ref === undefined) continue
      const key = `${ref.modelId}\u0000${ref.version ?? ''}`
      refs.set(
        key,
        ref.version === undefined ? { modelId: ref.modelId } : { modelId: ref.modelId, version: ref.version },
      )
    }
  }
  return [...refs.values()]
}

async function servable(models: ModelStore, ref: ModelRef): Promise<boolean> {
  if (ref.version !== undefined) return (await models.getInfo(ref.modelId, ref.version))?.status === 'READY'
  return (await models.listVersions(ref.modelId)).some((info) => info.status === 'READY')
}

interface Claim {
  models: ModelStore
  modelId: string
  kind: ClaimKind
  token: string
}

/** Runs `work` while renewing `claims` every third of their hold, so long work (many entities) keeps them. */
async function whileRenewed<T>(claims: readonly Claim[], work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => {
    for (const { models, modelId, kind, token } of claims) {
      // A renewal that fails is not fatal here: a delete whose claim ended deletes nothing (claimLost).
      models.renewClaim(modelId, kind, token, CLAIM_HOLD_MS).catch(() => undefined)
    }
  }, CLAIM_HOLD_MS / 3)
  timer.unref()
  try {
    return await work()
  } finally {
    clearInterval(timer)
  }
}
