import { describe, expect, it } from 'vitest'
import { deployHandler } from '../../../../src/control/handlers/lifecycle.js'
import type { HandlerDeps } from '../../../../src/control/handlers/deps.js'
import { MemoryBindingStore } from '../../../../src/state/binding-store.js'
import { MemoryModelStore } from '../../../../src/state/model-store.js'
import { MemoryResultStore } from '../../../../src/state/result-store.js'

async function setup() {
  const models = new MemoryModelStore()
  const bindings = new MemoryBindingStore()
  const meta = (variables: string[]) => ({ variables, slidingWindow: 28 })
  await models.registerReady('live', '{}', meta(['a', 'b', 'c']))
  await models.registerReady('candidate', '{}', meta(['c', 'a', 'b']))
  await models.registerReady('other', '{}', meta(['a', 'b', 'x']))
  const deps = { models, bindings, results: new MemoryResultStore() } as unknown as HandlerDeps
  const deploy = (command: object) =>
    deployHandler(deps).run({ type: 'deploy', jobId: 'j', ...command } as never, { progress: () => undefined } as never)
  return { models, bindings, deploy }
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
})
