import { describe, expect, it } from 'vitest'
import { ServiceError, isServiceError, toServiceError } from '../../src/errors.js'

describe('ServiceError', () => {
  it('marks transient infrastructure errors retriable and user errors not', () => {
    expect(new ServiceError('KafkaError', 'broker gone').retriable).toBe(true)
    expect(new ServiceError('RedisError', 'timeout').retriable).toBe(true)
    expect(new ServiceError('InvalidSlidingWindow', 'bad').retriable).toBe(false)
    expect(new ServiceError('ConfigInvalid', 'bad').retriable).toBe(false)
  })

  it('lets the caller override retriable and keeps the cause', () => {
    const cause = new Error('root')
    const error = new ServiceError('KafkaError', 'fatal auth', { retriable: false, cause })
    expect(error.retriable).toBe(false)
    expect(error.cause).toBe(cause)
  })

  it('serialises to the MVAD error body shape', () => {
    expect(JSON.parse(JSON.stringify(new ServiceError('ModelNotExist', 'The model does not exist.')))).toEqual({
      code: 'ModelNotExist',
      message: 'The model does not exist.',
    })
  })

  it('wraps unknown throwables', () => {
    const wrapped = toServiceError(new TypeError('x is undefined'))
    expect(isServiceError(wrapped)).toBe(true)
    expect(wrapped.code).toBe('Internal')
    expect(wrapped.message).toBe('x is undefined')
    expect(toServiceError('plain', 'DecodeFailed').code).toBe('DecodeFailed')
    const original = new ServiceError('NoData', 'empty')
    expect(toServiceError(original)).toBe(original)
  })
})
