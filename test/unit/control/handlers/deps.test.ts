import { describe, expect, it } from 'vitest'
import { inRequestTerms } from '../../../../src/control/handlers/deps.js'
import { ServiceError } from '../../../../src/errors.js'

describe('inRequestTerms', () => {
  const unzipped = '/srv/mvad-data/rest/0b9e-unzipped'
  const command = { source: { kind: 'file', path: unzipped }, dataSource: 'https://example.com/data.zip' }

  it("names the request's dataSource where a failure names the folder it was unpacked to", () => {
    const failure = new ServiceError('VariableParseError', `${unzipped}/x03.csv line 6, column 'value': 'x'`)
    const shown = inRequestTerms(failure, command)
    expect(shown.message).toBe("https://example.com/data.zip/x03.csv line 6, column 'value': 'x'")
    expect([shown.code, shown.retriable, shown.cause]).toEqual(['VariableParseError', false, failure])
  })

  it('names a URL without its query: no SAS token in stored errors or logs, the file after the folder', () => {
    const folder = '/srv/mvad-data/rest/0b9e'
    const failure = new ServiceError('VariableParseError', `${folder}/x03.csv line 6, column 'value': 'x'`)
    const shown = inRequestTerms(failure, {
      source: { kind: 'file', path: folder },
      dataSource: 'https://acct.blob.core.windows.net/data/omi?sv=2024-11-04&sp=rl&sig=SECRET',
    })
    expect(shown.message).toBe("https://acct.blob.core.windows.net/data/omi/x03.csv line 6, column 'value': 'x'")
  })

  it('leaves other failures, and jobs not from a REST request, as they are', () => {
    const other = new ServiceError('ModelNotExist', 'model m does not exist')
    expect(inRequestTerms(other, command)).toBe(other)
    const fromTopic = new ServiceError('NoData', `${unzipped}: nothing`)
    expect(inRequestTerms(fromTopic, { source: { kind: 'file', path: unzipped } })).toBe(fromTopic)
    expect(inRequestTerms(fromTopic, { source: { kind: 'topic' }, dataSource: 'x' })).toBe(fromTopic)
  })
})
