import { describe, expect, it } from 'vitest'
import { deleteModelHandler, deployHandler } from '../../../../src/control/handlers/lifecycle.js'
import type { HandlerDeps } from '../../../../src/control/handlers/deps.js'
import { MemoryBindingStore } from '../../../../src/state/binding-store.js'
import { MemoryModelStore } from '../../../../src/state/model-store.js'
import { MemoryResultStore } from '../../../../src/state/result-store.js'

async function setup() {
  const models = new MemoryModelStore()
  const bindings = new MemoryBindingStore(models)
  const meta = (variables: string[]) => ({ variables, slidingWindow: 28 })
  await models.registerReady('live', '{}', meta(['a', 'b', 'c']))
  await models.registerReady('candidate', '{}', meta(['c', 'a', 'b']))
  await models.registerReady('other', '{}', meta(['a', 'b', 'x']))
  const deps = { models, bindings, results: new MemoryResultStore() } as unknown as HandlerDeps
  const deploy = (command: object) =>
    deployHandler(deps).run({ type: 'deploy', jobId: 'j', ...command } as never, { progress: () => undefined } as never)
  const remove = (modelId: string) =>
    deleteModelHandler(deps).run(
      { type: 'delete-model', jobId: 'd', modelId } as never,
      {
        progress: () => undefined,
      } as never,
    )
  return { models, bindings, deploy, remove }
}

describe('deploy handler', () => {
  it('binds a shadow beside the default when it has the same variables (any order)', async () => {
    const { bindings, deploy } = await setup()
    await deploy({ modelId: 'live', entities: ['e1', 'e2'] })
    await expect(deploy({ modelId: 'candidate', entities: ['e1', 'e2'], mode: 'shadow' })).resolves.toMatchObject({
      mode: 'shadow',
      version: 1,
    })
    expect(await bindings.get('e2')).toEqual({
      modelId: 'live',
      version: 1,
      shadow: { modelId: 'candidate', version: 1 },
    })
  })

  it('refuses a shadow with other variables, on an entity without a default, or equal to the default — binding nothing', async () => {
    const { bindings, deploy } = await setup()
    await deploy({ modelId: 'live', entities: ['e1'] })
    await expect(deploy({ modelId: 'other', entities: ['e1'], mode: 'shadow' })).rejects.toMatchObject({
      code: 'InvalidRequestParameterError',
      message: expect.stringContaining('only in the shadow: x') as unknown,
    })
    await expect(deploy({ modelId: 'candidate', entities: ['e1', 'nobody'], mode: 'shadow' })).rejects.toMatchObject({
      code: 'InvalidRequestParameterError',
      message: expect.stringContaining('nobody has no default model') as unknown,
    })
    await expect(deploy({ modelId: 'live', entities: ['e1'], mode: 'shadow' })).rejects.toMatchObject({
      code: 'InvalidRequestParameterError',
    })
    expect(await bindings.get('e1')).toEqual({ modelId: 'live', version: 1 })
    expect(await bindings.get('nobody')).toBeUndefined()
  })

  it('keeps a fitting shadow when the default changes, drops it when the shadow is promoted', async () => {
    const { bindings, models, deploy } = await setup()
    await deploy({ modelId: 'live', entities: ['e1'] })
    await deploy({ modelId: 'candidate', entities: ['e1'], mode: 'shadow' })
    await models.registerReady('live', '{}', { variables: ['b', 'c', 'a'], slidingWindow: 28 })
    await deploy({ modelId: 'live', entities: ['e1'] })
    expect(await bindings.get('e1')).toEqual({
      modelId: 'live',
      version: 2,
      shadow: { modelId: 'candidate', version: 1 },
    })
    await expect(deploy({ modelId: 'candidate', entities: ['e1'] })).resolves.toMatchObject({ shadowsDropped: ['e1'] })
    expect(await bindings.get('e1')).toEqual({ modelId: 'candidate', version: 1 })
  })

  it('binds nothing while another instance deletes the model, or the shadow it would keep (state/model-deletion.ts)', async () => {
    const { bindings, models, deploy } = await setup()
    await deploy({ modelId: 'live', entities: ['e1'] })
    await deploy({ modelId: 'candidate', entities: ['e1'], mode: 'shadow' })
    const deleting = (await models.claim('other', 'delete', 60_000)) ?? ''
    await expect(deploy({ modelId: 'other', entities: ['e1', 'e2'] })).rejects.toMatchObject({ code: 'ModelInUse' })
    await models.releaseClaim('other', 'delete', deleting)
    await models.claim('candidate', 'delete', 60_000)
    // A new default with the shadow's variables keeps the shadow, so its delete stops this deploy too.
    await models.registerReady('live', '{}', { variables: ['a', 'b', 'c'], slidingWindow: 28 })
    await expect(deploy({ modelId: 'live', entities: ['e1'] })).rejects.toMatchObject({
      code: 'ModelInUse',
      message: expect.stringContaining('model candidate is being deleted') as unknown,
    })
    expect(await bindings.list()).toEqual([
      { entity: 'e1', binding: { modelId: 'live', version: 1, shadow: { modelId: 'candidate', version: 1 } } },
    ])
  })
})

describe('delete-model handler', () => {
  it('deletes a model no entity uses; refuses one in use or being deployed by another instance (ModelInUse)', async () => {
    const { models, deploy, remove } = await setup()
    await deploy({ modelId: 'live', entities: ['e1'] })
    await expect(remove('live')).rejects.toMatchObject({
      code: 'ModelInUse',
      message: expect.stringContaining('e1') as unknown,
    })
    const bind = (await models.claim('other', 'bind', 60_000)) ?? ''
    await expect(remove('other')).rejects.toMatchObject({
      code: 'ModelInUse',
      message: 'model other is being deployed by another request; try again',
    })
    await models.releaseClaim('other', 'bind', bind)
    await expect(remove('other')).resolves.toEqual({ modelId: 'other', deleted: true })
    await expect(remove('other')).rejects.toMatchObject({ code: 'ModelNotExist' })
  })
})
