import { describe, expect, it } from 'vitest'
import { MemoryJobStore, canMoveJob } from '../../../src/state/job-store.js'
import { jobStoreContract } from '../../contracts/job-store.contract.js'

let counter = 0
jobStoreContract('memory', (options) => ({ store: new MemoryJobStore(options), jobId: () => `job-${++counter}` }))

describe('job status machine', () => {
  it('allows only the documented moves', () => {
    expect(canMoveJob('CREATED', 'RUNNING')).toBe(true)
    expect(canMoveJob('CREATED', 'FAILED')).toBe(true)
    expect(canMoveJob('CREATED', 'READY')).toBe(false)
    expect(canMoveJob('RUNNING', 'READY')).toBe(true)
    expect(canMoveJob('READY', 'RUNNING')).toBe(false)
    expect(canMoveJob('FAILED', 'READY')).toBe(false)
  })
})
