import { describe, expect, it } from 'vitest'
import { evictionWarning } from '../../../src/state/redis-eviction.js'

const info = (policy: string): string =>
  `# Memory\r\nused_memory:1024\r\nmaxmemory:0\r\nmaxmemory_human:0B\r\nmaxmemory_policy:${policy}\r\nallocator_frag_ratio:1.00\r\n`

describe('evictionWarning', () => {
  it('is silent for noeviction and warns, naming the policy, for any policy that evicts', () => {
    expect(evictionWarning(info('noeviction'))).toBeUndefined()
    for (const policy of ['volatile-lru', 'allkeys-lru', 'volatile-ttl', 'allkeys-lfu']) {
      expect(evictionWarning(info(policy))).toContain(`maxmemory-policy ${policy}`)
    }
  })

  it('is silent when the answer does not say (a proxy that hides INFO fields)', () => {
    expect(evictionWarning('# Memory\r\nused_memory:1024\r\n')).toBeUndefined()
  })
})
