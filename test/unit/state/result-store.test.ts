import { MemoryResultStore } from '../../../src/state/result-store.js'
import { resultStoreContract } from '../../contracts/result-store.contract.js'

let counter = 0
let clock = 0
resultStoreContract('memory', () => ({
  store: new MemoryResultStore(() => clock),
  resultId: () => `r${++counter}`,
  wait: (ms) => {
    clock += ms
    return Promise.resolve()
  },
}))
