import { EventEmitter } from 'node:events'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../../src/observability/logger.js'
import {
  isKnownKafkaJsTimeoutWarning,
  printProcessWarnings,
  routeProcessWarnings,
} from '../../../src/observability/process-warnings.js'

function warning(name: string, message: string, stack: string): Error {
  const error = new Error(message)
  error.name = name
  error.stack = stack
  return error
}

const kafkaJsWarning = warning(
  'TimeoutNegativeWarning',
  '-1796095979196 is a negative number.\nTimeout duration was set to 1.',
  'TimeoutNegativeWarning: ...\n    at RequestQueue.scheduleCheckPendingRequests (/app/node_modules/kafkajs/src/network/requestQueue/index.js:317:37)',
)

describe('routeProcessWarnings', () => {
  it('logs warnings as JSON records instead of printing them, the known kafkajs one at debug', async () => {
    const lines: Record<string, unknown>[] = []
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
        done()
      },
    })
    const target = new EventEmitter()
    let printed = 0
    target.on('warning', () => printed++) // stands for Node's own stderr printer
    routeProcessWarnings(createLogger({ serviceName: 'svc', level: 'debug' }, sink), target)
    target.emit('warning', kafkaJsWarning)
    target.emit('warning', warning('DeprecationWarning', 'Buffer() is deprecated', 'DeprecationWarning: at x.js:1'))
    await new Promise((resolve) => setImmediate(resolve))
    expect(printed).toBe(0)
    expect(lines).toMatchObject([
      { level: 'debug', warning: 'TimeoutNegativeWarning', knownIssue: 'tulios/kafkajs#1751' },
      {
        level: 'warn',
        warning: 'DeprecationWarning',
        msg: 'Buffer() is deprecated',
        stack: 'DeprecationWarning: at x.js:1',
      },
    ])
  })

  it('treats a TimeoutNegativeWarning from elsewhere as any other warning', () => {
    expect(isKnownKafkaJsTimeoutWarning(kafkaJsWarning)).toBe(true)
    const ours = warning('TimeoutNegativeWarning', '-5 is a negative number.', 'at scheduler (/app/dist/src/x.js:1)')
    expect(isKnownKafkaJsTimeoutWarning(ours)).toBe(false)
  })

  it('prints other warnings as one line for the CLI, and not the known one', () => {
    const target = new EventEmitter()
    const written: string[] = []
    printProcessWarnings({ write: (text: string) => written.push(text) }, target)
    target.emit('warning', kafkaJsWarning)
    target.emit('warning', warning('ExperimentalWarning', 'x is experimental', 'ExperimentalWarning: at y.js:1'))
    expect(written).toEqual(['mvad: ExperimentalWarning: x is experimental\n'])
  })
})
