import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../../src/observability/logger.js'

describe('createLogger', () => {
  it('writes JSON lines with level label, service and child context', async () => {
    const lines: string[] = []
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString())
        done()
      },
    })
    const logger = createLogger({ serviceName: 'svc', level: 'info' }, sink)
    logger.child({ entity: 'm-1' }).info({ offset: 5 }, 'scored')
    logger.debug('hidden below level')
    await new Promise((resolve) => setImmediate(resolve))
    expect(lines).toHaveLength(1)
    const record = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>
    expect(record).toMatchObject({ level: 'info', service: 'svc', entity: 'm-1', offset: 5, msg: 'scored' })
    expect(typeof record.time).toBe('string')
  })
})
