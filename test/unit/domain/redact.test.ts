import { describe, expect, it } from 'vitest'
import { redactSas, withoutQuery } from '../../../src/domain/redact.js'

const SAS = 'sv=2024-11-04&sp=rl&sr=c&se=2030-01-01T00%3A00%3A00Z&sig=abc%2Bdef%3D'

describe('redactSas', () => {
  it('hides the signature and keeps the rest of the token, in a URL or in a message', () => {
    expect(redactSas(`https://acct.blob.core.windows.net/data/f?${SAS}`)).toBe(
      'https://acct.blob.core.windows.net/data/f?sv=2024-11-04&sp=rl&sr=c&se=2030-01-01T00%3A00%3A00Z&sig=…',
    )
    expect(redactSas('https://h/x?a=1&SIG=zz&b=2')).toBe('https://h/x?a=1&SIG=…&b=2')
    // A signature pasted unencoded (base64 holds "/" and "+") is hidden up to the end of the URL.
    expect(redactSas('dataSource https://h/x?sig=ab/c+d= answered HTTP 403')).toBe(
      'dataSource https://h/x?sig=… answered HTTP 403',
    )
  })
})

describe('withoutQuery', () => {
  it('drops the query and fragment of an http(s) URL and leaves other text alone', () => {
    expect(withoutQuery(`https://acct.blob.core.windows.net/data/f?${SAS}#x`)).toBe(
      'https://acct.blob.core.windows.net/data/f',
    )
    expect(withoutQuery('/srv/data/train.csv')).toBe('/srv/data/train.csv')
    expect(withoutQuery('file:///srv/data/train.csv')).toBe('file:///srv/data/train.csv')
  })
})
