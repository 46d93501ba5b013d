import { describe, expect, it } from 'vitest'
import { MemoryBindingStore, parseBinding } from '../../../src/state/binding-store.js'
import { bindingStoreContract } from '../../contracts/binding-store.contract.js'

let counter = 0
bindingStoreContract('memory', () => ({ store: new MemoryBindingStore(), entity: () => `e${++counter}` }))

describe('parseBinding', () => {
  it('accepts a model id with an optional integer version and rejects anything else', () => {
    expect(parseBinding('{"modelId":"m"}')).toEqual({ modelId: 'm' })
    expect(parseBinding('{"modelId":"m","version":2}')).toEqual({ modelId: 'm', version: 2 })
    expect(parseBinding('{"modelId":""}')).toBeUndefined()
    expect(parseBinding('{"modelId":"m","version":1.5}')).toBeUndefined()
    expect(parseBinding('not json')).toBeUndefined()
    expect(parseBinding('{"modelId":"m","shadow":{"modelId":"s","version":3}}')).toEqual({
      modelId: 'm',
      shadow: { modelId: 's', version: 3 },
    })
    expect(parseBinding('{"modelId":"m","shadow":{"version":3}}')).toBeUndefined()
  })
})
