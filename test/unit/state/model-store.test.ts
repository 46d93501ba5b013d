import { MemoryModelStore } from '../../../src/state/model-store.js'
import { modelStoreContract } from '../../contracts/model-store.contract.js'

let counter = 0
modelStoreContract('memory', () => ({ store: new MemoryModelStore(), modelId: () => `m${++counter}` }))
