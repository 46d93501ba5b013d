/**
 * Model lifecycle jobs: `deploy` binds a READY model version to entities (as their default model, or as a shadow
 * scored alongside it), `delete-model` removes a model unless an entity still uses it, `cancel` stops another job.
 */
import { ServiceError } from '../../errors.js'
import type { ModelBinding, ModelRef } from '../../state/binding-store.js'
import { bindToModels, deleteUnboundModel, type BindingChange } from '../../state/model-deletion.js'
import type { CancelCommand, DeleteModelCommand, DeployCommand } from '../commands.js'
import type { JobHandler, JobRunner } from '../job-runner.js'
import { shadowColumns } from '../../stream/model-runtime.js'
import { readyModel } from './detect-batch.js'
import type { HandlerDeps } from './deps.js'

export function deployHandler(deps: HandlerDeps): JobHandler {
  return {
    async run(raw) {
      const command = raw as DeployCommand
      const mode = command.mode ?? 'default'
      // Refuse before touching any binding: the version must be servable now.
      const { version, variables } = await readyModel(deps.models, command.modelId, command.version)
      if (mode === 'shadow') await checkShadowFits(deps, command.entities, command.modelId, variables)
      // Pinning the version makes the deployment explicit; "latest" would move with the next training.
      const ref = { modelId: command.modelId, version }
      const shadowsDropped: string[] = []
      const changes: BindingChange[] = []
      for (const entity of command.entities) {
        const current = await deps.bindings.get(entity)
        let next: ModelBinding
        if (mode === 'shadow') {
          if (current === undefined) {
            // checkShadowFits saw a default a moment ago: someone removed it since.
            throw new ServiceError('InvalidRequestParameterError', `entity ${entity} lost its default model meanwhile`)
          }
          next = { modelId: current.modelId, ...versionOf(current), shadow: ref }
        } else if (current?.shadow === undefined) {
          next = ref
        } else if (await shadowStillFits(deps, current.shadow, command.modelId, variables)) {
          next = { ...ref, shadow: current.shadow }
        } else {
          // Promoting the shadow to default, or a new default with other variables: the old shadow goes.
          shadowsDropped.push(entity)
          next = ref
        }
        changes.push({ entity, binding: next })
      }
      // Written only now, once every entity's binding is known, and not at all if a model they name is being
      // deleted meanwhile (by another instance).
      await bindToModels(deps.models, deps.bindings, changes)
      return {
        modelId: command.modelId,
        version,
        mode,
        entities: command.entities,
        ...(shadowsDropped.length > 0 ? { shadowsDropped } : {}),
      }
    },
  }
}

/**
 * A shadow scores the default model's window, so it must use the same variables (order may differ). Checked for
 * every entity before any binding changes, so a deployment applies to all entities or to none.
 */
async function checkShadowFits(
  deps: HandlerDeps,
  entities: readonly string[],
  shadowModelId: string,
  shadowVariables: readonly string[],
): Promise<void> {
  for (const entity of entities) {
    const current = await deps.bindings.get(entity)
    if (current === undefined) {
      throw new ServiceError(
        'InvalidRequestParameterError',
        `entity ${entity} has no default model; deploy one before a shadow`,
      )
    }
    if (current.modelId === shadowModelId) {
      throw new ServiceError(
        'InvalidRequestParameterError',
        `entity ${entity} already uses model ${shadowModelId} as its default; a shadow must be another model`,
      )
    }
    const defaultModel = await readyModel(deps.models, current.modelId, current.version)
    const layout = shadowColumns(defaultModel.variables, shadowVariables)
    if ('problem' in layout) {
      throw new ServiceError(
        'InvalidRequestParameterError',
        `cannot shadow ${current.modelId} on entity ${entity}: ${layout.problem}`,
      )
    }
  }
}

function versionOf(ref: ModelRef): { version?: number } {
  return ref.version === undefined ? {} : { version: ref.version }
}

/** Whether an entity's shadow can stay beside a new default model. */
async function shadowStillFits(
  deps: HandlerDeps,
  shadow: ModelRef,
  defaultModelId: string,
  defaultVariables: readonly string[],
): Promise<boolean> {
  if (shadow.modelId === defaultModelId) return false
  const info = await deps.models.getInfo(shadow.modelId, shadow.version)
  return info !== undefined && !('problem' in shadowColumns(defaultVariables, info.variables))
}

export function deleteModelHandler(deps: HandlerDeps): JobHandler {
  return {
    async run(raw) {
      const command = raw as DeleteModelCommand
      if (!(await deleteUnboundModel(deps.models, deps.bindings, command.modelId))) {
        throw new ServiceError('ModelNotExist', `model ${command.modelId} does not exist`)
      }
      return { modelId: command.modelId, deleted: true }
    },
  }
}

export function cancelHandler(runner: () => JobRunner): JobHandler {
  return {
    async run(raw) {
      const command = raw as CancelCommand
      if (command.targetJobId === command.jobId) {
        throw new ServiceError('InvalidRequestParameterError', `cancel ${command.jobId} names itself as its target`)
      }
      const target = await runner().cancel(command.targetJobId)
      return {
        targetJobId: command.targetJobId,
        targetStatus: target.status,
        cancelRequested: target.cancelRequested === true,
      }
    },
  }
}
