/**
 * Model lifecycle jobs: `deploy` binds a READY model version to entities (as their default model, or as a shadow
 * scored alongside it), `delete-model` removes a model unless an entity still uses it, `cancel` stops another job.
 */
import { ServiceError } from '../../errors.js'
import { entitiesUsingModel, type ModelBinding } from '../../state/binding-store.js'
import type { CancelCommand, DeleteModelCommand, DeployCommand } from '../commands.js'
import type { JobHandler, JobRunner } from '../job-runner.js'
import { readyModel } from './detect-batch.js'
import type { HandlerDeps } from './deps.js'

export function deployHandler(deps: HandlerDeps): JobHandler {
  return {
    async run(raw) {
      const command = raw as DeployCommand
      const mode = command.mode ?? 'default'
      if (mode === 'shadow') {
        // The binding can carry a shadow model, but the partition worker does not score it yet: refuse rather than
        // accept a deployment that would silently do nothing.
        throw new ServiceError(
          'InvalidRequestParameterError',
          'shadow deployment is not supported yet; deploy with mode "default"',
        )
      }
      // Refuse before touching any binding: the version must be servable now.
      const { version } = await readyModel(deps.models, command.modelId, command.version)
      // Pinning the version makes the deployment explicit; "latest" would move with the next training.
      const ref = { modelId: command.modelId, version }
      for (const entity of command.entities) {
        const current = await deps.bindings.get(entity)
        let next: ModelBinding
        if (mode === 'default') next = current?.shadow === undefined ? ref : { ...ref, shadow: current.shadow }
        else {
          if (current === undefined) {
            throw new ServiceError(
              'InvalidRequestParameterError',
              `entity ${entity} has no default model; deploy one before a shadow`,
            )
          }
          next = {
            modelId: current.modelId,
            ...(current.version === undefined ? {} : { version: current.version }),
            shadow: ref,
          }
        }
        await deps.bindings.set(entity, next)
      }
      return { modelId: command.modelId, version, mode, entities: command.entities }
    },
  }
}

export function deleteModelHandler(deps: HandlerDeps): JobHandler {
  return {
    async run(raw) {
      const command = raw as DeleteModelCommand
      const users = entitiesUsingModel(await deps.bindings.list(), command.modelId)
      if (users.length > 0) {
        const shown = users.slice(0, 10).join(', ') + (users.length > 10 ? `, … (${users.length})` : '')
        throw new ServiceError(
          'ModelInUse',
          `model ${command.modelId} is deployed to ${shown}; deploy another model there first`,
        )
      }
      if (!(await deps.models.deleteModel(command.modelId))) {
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
      const target = await runner().cancel(command.targetJobId)
      return {
        targetJobId: command.targetJobId,
        targetStatus: target.status,
        cancelRequested: target.cancelRequested === true,
      }
    },
  }
}
