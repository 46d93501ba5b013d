import { describe, expect, it } from 'vitest'
import { ServiceError } from '../../../../src/errors.js'
import { checkApiKey, toMvadError } from '../../../../src/http/mvad/errors.js'

describe('MVAD REST errors', () => {
  it('maps service errors to MVAD statuses', () => {
    expect(toMvadError(new ServiceError('ModelNotExist', 'gone'))).toEqual({
      status: 404,
      code: 'ModelNotExist',
      message: 'gone',
    })
    expect(toMvadError(new ServiceError('ModelNotReady', 'wait')).status).toBe(400)
    expect(toMvadError(new ServiceError('InvalidFileSize', 'big')).status).toBe(413)
    expect(toMvadError(new ServiceError('RedisError', 'down')).status).toBe(503)
  })

  it('names the missing required field as MVAD does, and a wrong field its own code, other schema failures bad parameters', () => {
    const missing = (property: string) => ({
      validation: [{ keyword: 'required', instancePath: '', params: { missingProperty: property }, message: 'x' }],
    })
    expect(toMvadError(missing('dataSource')).code).toBe('RequiredSource')
    expect(toMvadError(missing('startTime')).code).toBe('RequiredStartTime')
    expect(toMvadError(missing('endTime')).code).toBe('RequiredEndTime')
    expect(
      toMvadError({
        validation: [{ keyword: 'type', instancePath: '/slidingWindow', params: {}, message: 'must be integer' }],
      }),
    ).toEqual({ status: 400, code: 'InvalidSlidingWindow', message: 'body/slidingWindow must be integer' })
    expect(
      toMvadError({
        validation: [{ keyword: 'type', instancePath: '/displayName', params: {}, message: 'must be string' }],
      }),
    ).toEqual({ status: 400, code: 'InvalidRequestParameterError', message: 'body/displayName must be string' })
  })

  it('answers oversize and malformed bodies with 413 and 400, and unknown faults with 500', () => {
    expect(toMvadError({ code: 'FST_ERR_CTP_BODY_TOO_LARGE' }).status).toBe(413)
    expect(toMvadError({ code: 'FST_ERR_CTP_INVALID_JSON_BODY', message: 'bad' }).code).toBe('InvalidJsonFormat')
    expect(toMvadError(new Error('boom'))).toMatchObject({ status: 500, code: 'UnexpectedError' })
  })

  it('checks the API key only when one is configured', () => {
    expect(checkApiKey(undefined, undefined)).toBe(true)
    expect(checkApiKey('secret-key-123456', 'secret-key-123456')).toBe(true)
    expect(checkApiKey('secret-key-123456', 'secret-key-12345')).toBe(false)
    expect(checkApiKey('secret-key-123456', undefined)).toBe(false)
    expect(checkApiKey('secret-key-123456', ['secret-key-123456'])).toBe(false)
  })
})
