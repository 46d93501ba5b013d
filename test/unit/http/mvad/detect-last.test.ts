import { describe, expect, it } from 'vitest'
import { modelFileForSeries, fromModelFile } from '../../../../src/cli/model-file.js'
import { alignTable } from '../../../../src/data/align.js'
import { readOneTableFile } from '../../../../src/data/files.js'
import { DEFAULT_ALIGN_POLICY } from '../../../../src/domain/types.js'
import { alignForModel } from '../../../../src/data/inference.js'
import { formatIsoTimestamp } from '../../../../src/data/timestamp.js'
import { detectLast, requestTable } from '../../../../src/http/mvad/detect-last.js'
import { createScorer, fitModel } from '../../../../src/model/index.js'
import { detectBatch, toWireAnomalyState } from '../../../../src/pipeline/index.js'

const FIXTURES = new URL('../../../fixtures/cli/', import.meta.url).pathname

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

describe('detectLast', () => {
  it('gives what detect-batch gives for the last row, whatever order the points come in', async () => {
    const train = alignTable(await readOneTableFile(`${FIXTURES}train.csv`))
    const fitted = fitModel(train, { slidingWindow: 28 })
    const model = fromModelFile(
      JSON.parse(
        JSON.stringify(
          modelFileForSeries(fitted, train, {
            source: 'train.csv',
            slidingWindow: 28,
            alignPolicy: DEFAULT_ALIGN_POLICY,
            trainingSeconds: 0,
          }),
        ),
      ),
      'model',
    )
    const test = alignForModel(await readOneTableFile(`${FIXTURES}test.csv`), model.variables)
    for (const rows of [40, 28]) {
      const timestamps = test.timestamps.slice(0, rows).map((t) => formatIsoTimestamp(t))
      const request = model.variables.map((variable, j) => {
        const values = test.rows.slice(0, rows).map((row) => row[j] as number)
        // One variable's points arrive newest first.
        return j === 1
          ? { variable, timestamps: [...timestamps].reverse(), values: [...values].reverse() }
          : { variable, timestamps, values }
      })
      const last = test.timestamps[rows - 1] as number
      const { results } = detectBatch(createScorer(model.state), test, {
        slidingWindow: 28,
        topContributorCount: 3,
        range: { startTime: last, endTime: last },
      })
      expect(results).toHaveLength(1)
      expect(detectLast(model, request, 3).results).toEqual(results.map(toWireAnomalyState))
    }
  })
})
