import { describe, expect, it } from 'vitest'
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { parseMultiTable, parseOneTable, readTable } from '../../../src/data/index.js'
import { ServiceError } from '../../../src/errors.js'

const fixtures = fileURLToPath(new URL('../../fixtures/data/', import.meta.url))
const T0 = Date.UTC(2024, 0, 1)
const MIN = 60_000

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(ServiceError)
    return { code: (err as ServiceError).code, message: (err as ServiceError).message }
  }
  throw new Error('expected a ServiceError')
}

describe('parseOneTable', () => {
  it('parses, sorts rows by time and variables by name; empty cells are missing', async () => {
    const t = await parseOneTable('timestamp,b,a\n2024-01-01T00:01:00Z,2,\n2024-01-01T00:00:00Z,1,5\n', 'x.csv')
    expect(t.schema).toBe('OneTable')
    expect(t.variables.map((v) => v.variable)).toEqual(['a', 'b'])
    expect(Array.from(t.variables[0]!.timestamps)).toEqual([T0, T0 + MIN])
    expect(Array.from(t.variables[0]!.values)).toEqual([5, NaN])
    expect(Array.from(t.variables[1]!.values)).toEqual([1, 2])
  })

  it('reads Buffers and streams alike, with a BOM and zone-less / offset timestamps', async () => {
    const text = '\uFEFFtimestamp,v\n2024-01-01 00:00:00,1\n2024-01-01T02:00:00+01:00,2\n'
    const fromBuffer = await parseOneTable(Buffer.from(text), 'b.csv')
    const fromStream = await parseOneTable(Readable.from([text.slice(0, 20), text.slice(20)]), 's.csv')
    expect(Array.from(fromBuffer.variables[0]!.timestamps)).toEqual([T0, T0 + 60 * MIN])
    expect(fromStream.variables[0]!.values).toEqual(fromBuffer.variables[0]!.values)
  })

  it.each([
    ['time,a\n2024-01-01T00:00:00Z,1\n', 'ColumnNotFound', /line 1.*'timestamp'/],
    ['timestamp\n2024-01-01T00:00:00Z\n', 'NoVariablesFound', /no variable/],
    [
      'timestamp,a\n2024-01-01T00:00:00Z,1\nyesterday,2\n',
      'InvalidTimestampFormat',
      /x\.csv line 3, column 'timestamp': 'yesterday'/,
    ],
    [
      'timestamp,a\n2024-01-01T00:00:00Z,1\n2024-01-01T00:01:00Z,abc\n',
      'VariableParseError',
      /line 3, column 'a': 'abc'/,
    ],
    ['timestamp,a\n2024-01-01T00:00:00Z,1\n2024-01-01T00:00:00Z,2\n', 'DuplicatedTimestamps', /lines 2 and 3/],
    ['timestamp,a,b\n2024-01-01T00:00:00Z,1,2\n2024-01-01T00:01:00Z,1\n', 'NumColumnsMismatch', /line 3: 2 columns.*3/],
    ['timestamp,a,a\n2024-01-01T00:00:00Z,1,2\n', 'DuplicatedVariables', /'a'/],
    ['', 'NoData', /empty/],
    // Number() would read these as 16 and 3; only decimal numbers are values.
    ['timestamp,a\n2024-01-01T00:00:00Z,0x10\n', 'VariableParseError', /line 2, column 'a': '0x10' is not a number/],
    ['timestamp,a\n2024-01-01T00:00:00Z,0b11\n', 'VariableParseError', /'0b11' is not a number/],
    ['timestamp,a\n2024-01-01T00:00:00Z,Infinity\n', 'VariableParseError', /'Infinity' is not a number/],
    // Finite, but its square overflows: a model of it would hold NaN.
    ['timestamp,a\n2024-01-01T00:00:00Z,1e155\n', 'VariableParseError', /line 2, column 'a': '1e155' is outside/],
  ])('rejects bad input %#', async (text, code, message) => {
    const err = await codeOf(parseOneTable(text, 'x.csv'))
    expect(err.code).toBe(code)
    expect(err.message).toMatch(message)
  })

  it('says a one-column header looks separated by something else than commas', async () => {
    const semicolons = await codeOf(parseOneTable('timestamp;a;b\n2024-01-01T00:00:00Z;1;2\n', 'x.csv'))
    expect(semicolons).toEqual({
      code: 'ColumnNotFound',
      message:
        "x.csv line 1: no 'timestamp' column (case-sensitive) in header [timestamp;a;b]: the header is one column, so the file seems separated by something other than commas; MVAD CSVs use commas",
    })
    const commas = await codeOf(parseOneTable('time,a\n2024-01-01T00:00:00Z,1\n', 'x.csv'))
    expect(commas.message).toBe("x.csv line 1: no 'timestamp' column (case-sensitive) in header [time, a]")
  })

  it('reads mixed line endings (CRLF with LF-only lines) row by row', async () => {
    const t = await parseOneTable(
      'timestamp,a\r\n2024-01-01T00:00:00Z,1\n2024-01-01T00:01:00Z,2\r\n2024-01-01T00:02:00Z,3\r2024-01-01T00:03:00Z,4\n',
      'x.csv',
    )
    expect(Array.from(t.variables[0]!.values)).toEqual([1, 2, 3, 4])
  })

  it('reads every decimal form, up to ±1e100', async () => {
    const t = await parseOneTable(
      'timestamp,a\n2024-01-01T00:00:00Z,-1.5e3\n2024-01-01T00:01:00Z,.5\n2024-01-01T00:02:00Z,+7.\n2024-01-01T00:03:00Z,1e100\n',
      'x.csv',
    )
    expect(Array.from(t.variables[0]!.values)).toEqual([-1500, 0.5, 7, 1e100])
  })

  it('enforces the variable and timestamp limits', async () => {
    const header = ['timestamp', ...Array.from({ length: 302 }, (_, i) => `v${i}`)].join(',')
    expect((await codeOf(parseOneTable(`${header}\n`, 'x.csv'))).code).toBe('TooManyVariables')
    const rows = 'timestamp,a\n2024-01-01T00:00:00Z,1\n2024-01-01T00:01:00Z,1\n2024-01-01T00:02:00Z,1\n'
    expect((await codeOf(parseOneTable(rows, 'x.csv', { maxTimestamps: 2 }))).code).toBe('TooManyData')
  })
})

describe('parseMultiTable', () => {
  it('parses one file per variable', async () => {
    const t = await parseMultiTable(
      [
        { variable: 'b', input: 'timestamp,value\n2024-01-01T00:00:00Z,1\n' },
        { variable: 'a', input: 'value,timestamp\n7,2024-01-01T00:01:00Z\n' },
      ],
      'dir',
    )
    expect(t.variables.map((v) => v.variable)).toEqual(['a', 'b'])
    expect(Array.from(t.variables[0]!.timestamps)).toEqual([T0 + MIN])
    expect(Array.from(t.variables[0]!.values)).toEqual([7])
  })

  it('requires exactly timestamp,value and at least one file', async () => {
    const err = await codeOf(parseMultiTable([{ variable: 'a', input: 'timestamp,val\n' }], 'dir'))
    expect(err).toEqual({ code: 'FileColumnsNotExist', message: expect.stringMatching(/a\.csv line 1/) as string })
    expect((await codeOf(parseMultiTable([], 'dir'))).code).toBe('NoVariablesFound')
  })
})

describe('readTable', () => {
  it('reads a OneTable file and a MultiTable folder (ignoring non-csv files)', async () => {
    const one = await readTable(`${fixtures}onetable.csv`)
    const multi = await readTable(`${fixtures}multi`)
    expect(one.schema).toBe('OneTable')
    expect(multi.schema).toBe('MultiTable')
    expect(multi.variables.map((v) => v.variable)).toEqual(['a', 'b'])
    expect(Array.from(multi.variables[0]!.values)).toEqual([5, 10])
  })

  it('follows symbolic links in a MultiTable folder, and refuses a file named ".csv"', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mvad-multi-'))
    try {
      await symlink(`${fixtures}multi/a.csv`, join(dir, 'a.csv'))
      await writeFile(join(dir, 'c.csv'), 'timestamp,value\n2024-01-01T00:00:00Z,3\n')
      const multi = await readTable(dir)
      expect(multi.variables.map((v) => v.variable)).toEqual(['a', 'c'])
      await writeFile(join(dir, '.csv'), 'timestamp,value\n2024-01-01T00:00:00Z,3\n')
      const err = await codeOf(readTable(dir))
      expect(err.code).toBe('NoVariablesFound')
      expect(err.message).toMatch(/"\.csv" has no variable name/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('reports a missing path as FileNotExist', async () => {
    expect((await codeOf(readTable(`${fixtures}nope.csv`))).code).toBe('FileNotExist')
  })
})
