import { describe, expect, it } from 'vitest'
import { requestTable } from '../../../../src/http/mvad/detect-last.js'

const T = ['2024-01-01T00:00:00Z', '2024-01-01T00:01:00.000Z']

describe('detect-last request → table', () => {
  it('accepts variable / name / variableName, sorts variables by name and points by time', () => {
    const table = requestTable([
      { variable: 'b', timestamps: [T[1] as string, T[0] as string], values: [2, 1] },
      { name: 'a', timestamps: T, values: [3, 4] },
      { variableName: 'c', timestamps: T, values: [5, 6] },
    ])
    expect(table.variables.map((v) => v.variable)).toEqual(['a', 'b', 'c'])
    expect([...(table.variables[1]?.values ?? [])]).toEqual([1, 2])
    expect([...(table.variables[1]?.timestamps ?? [])]).toEqual([Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 1, 0, 1)])
  })

  it('refuses bad input with MVAD codes', () => {
    const bad = (variables: Parameters<typeof requestTable>[0]) => () => requestTable(variables)
    expect(bad([])).toThrow(expect.objectContaining({ code: 'NoVariablesFound' }) as Error)
    expect(bad([{ variable: 'a', timestamps: T, values: [1] }])).toThrow(
      expect.objectContaining({ code: 'NumColumnsMismatch' }) as Error,
    )
    expect(bad([{ variable: 'a', timestamps: ['noon', 'later'], values: [1, 2] }])).toThrow(
      expect.objectContaining({ code: 'InvalidTimestampFormat' }) as Error,
    )
    expect(
      bad([
        { variable: 'a', timestamps: T, values: [1, 2] },
        { variable: 'a', timestamps: T, values: [1, 2] },
      ]),
    ).toThrow(expect.objectContaining({ code: 'DuplicatedVariables' }) as Error)
    expect(bad([{ variable: 'a', timestamps: [T[0] as string, T[0] as string], values: [1, 2] }])).toThrow(
      expect.objectContaining({ code: 'DuplicatedTimestamps' }) as Error,
    )
    expect(bad([{ timestamps: T, values: [1, 2] }])).toThrow(
      expect.objectContaining({ code: 'InvalidRequestParameterError' }) as Error,
    )
  })
})
