import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { mvad } from '../../support/cli-run.js'

const F = fileURLToPath(new URL('../../fixtures/cli/', import.meta.url))

let dir = ''

const lines = async (path: string): Promise<Record<string, unknown>[]> =>
  (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mvad-cli-'))
  const r = await mvad('train', '--input', `${F}train.csv`, '--out', join(dir, 'model.json'), '--sliding-window', '28')
  expect(r.stderr).toMatch(/trained on 400 rows × 4 variables/)
  expect(r.code).toBe(0)
}, 120_000)
afterAll(async () => rm(dir, { recursive: true, force: true }))

describe('mvad detect', () => {
  it('judges a one-row input by the training step: the next minute continues, a year later is NotEnoughInput', async () => {
    const model = join(dir, 'model.json')
    const next = join(dir, 'one-next.csv')
    await writeFile(next, 'timestamp,x05,x07,x09,x10\n2024-01-07T10:40:00Z,0.46,0.77,0.23,0.21\n')
    const ok = await mvad('detect', '--model', model, '--input', next, '--out', join(dir, 'one-next.jsonl'))
    expect([ok.code, ok.stderr]).toEqual([
      0,
      expect.stringMatching(/^scored 1 of 1 rows \(continuing from the training tail\)/),
    ])
    const late = join(dir, 'one-late.csv')
    await writeFile(late, 'timestamp,x05,x07,x09,x10\n2025-01-07T10:40:00Z,0.46,0.77,0.23,0.21\n')
    const out = join(dir, 'one-late.jsonl')
    const r = await mvad('detect', '--model', model, '--input', late, '--out', out)
    expect([r.code, r.stderr]).toEqual([
      3,
      `error NotEnoughInput: ${late}: no row can be scored: a row is scored with the 27 rows before it (slidingWindow 28), the input has 1 row and it does not continue the training period\n`,
    ])
    await expect(readFile(out)).rejects.toThrow('ENOENT')
    // A range that ends before the first row with a full window says where that row is.
    const stamps = (await readFile(`${F}train.csv`, 'utf8'))
      .split('\n')
      .slice(1, 29)
      .map((l) => l.split(',')[0])
    const early = await mvad(
      ...['detect', '--model', model, '--input', `${F}train.csv`, '--out', out],
      ...['--end-time', stamps[9] ?? ''],
    )
    expect(early.code).toBe(3)
    expect(early.stderr).toContain(
      `no row between the start and ${new Date(stamps[9] ?? '').toISOString().replace('.000Z', 'Z')} can be scored: a row is scored with the 27 rows before it (slidingWindow 28); the first row with that history is ${new Date(stamps[27] ?? '').toISOString().replace('.000Z', 'Z')}`,
    )
  })

  it('refuses a variable with no value at all (NoData) instead of scoring made-up values', async () => {
    const blank = join(dir, 'blank-x07.csv')
    const text = await readFile(`${F}test.csv`, 'utf8')
    await writeFile(
      blank,
      text.replace(/^([^,]+,[^,]+,)[^,]+,/gm, (m, head: string, offset: number) => (offset === 0 ? m : `${head},`)),
    )
    const r = await mvad('detect', '--model', join(dir, 'model.json'), '--input', blank, '--out', join(dir, 'x.jsonl'))
    expect([r.code, r.stderr]).toEqual([
      3,
      `error NoData: ${blank}: no value at all for 'x07' (every row would be filled with made-up values); give such a variable data\n`,
    ])
  })

  it('continues from the training tail: every test row is scored, MVAD result shape', async () => {
    const out = join(dir, 'results.jsonl')
    const r = await mvad('detect', '--model', join(dir, 'model.json'), '--input', `${F}test.csv`, '--out', out)
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/scored 260 of 260 rows \(continuing from the training tail\)/)
    const rows = await lines(out)
    expect(rows).toHaveLength(260)
    expect(rows[0]?.timestamp).toBe('2024-01-07T10:40:00Z')
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(['timestamp', 'value', 'errors'])
      expect(row.errors).toEqual([])
      const value = row.value as Record<string, unknown>
      expect(Object.keys(value)).toEqual(['isAnomaly', 'score', 'severity', 'interpretation'])
      expect(typeof value.score).toBe('number')
    }
  })

  it('rows without enough history carry InsufficientHistoricalData and no value', async () => {
    // The training file itself does not continue the training period, so no tail is used.
    const out = join(dir, 'self.jsonl')
    const r = await mvad('detect', '--model', join(dir, 'model.json'), '--input', `${F}train.csv`, '--out', out)
    expect(r.code).toBe(0)
    const rows = await lines(out)
    expect(rows[0]).toEqual({
      timestamp: '2024-01-07T04:00:00Z',
      errors: [{ code: 'InsufficientHistoricalData', message: 'historical data is not enough.' }],
    })
    expect(rows.filter((x) => x.value === undefined).length).toBeGreaterThan(0)
    expect(rows.filter((x) => x.value === undefined).length).toBeLessThan(28)
    expect(rows.at(-1)?.value).toBeDefined()
  })

  it('--start-time/--end-time report only the range, using earlier rows as history', async () => {
    const out = join(dir, 'range.jsonl')
    const r = await mvad(
      'detect',
      ...['--model', join(dir, 'model.json'), '--input', `${F}train.csv`, '--out', out],
      ...['--start-time', '2024-01-07T06:40:00Z', '--end-time', '2024-01-07T06:49:00Z', '--top-contributors', '2'],
    )
    expect(r.code).toBe(0)
    const rows = await lines(out)
    expect(rows.map((x) => x.timestamp)).toHaveLength(10)
    expect(rows.every((x) => x.value !== undefined)).toBe(true)
  })

  it('rejects input with other variables than the model (exit 3)', async () => {
    const bad = join(dir, 'extra.csv')
    await writeFile(bad, 'timestamp,x05,x07,x09,x10,zz\n2024-01-07T00:00:00Z,1,1,1,1,1\n')
    const r = await mvad('detect', '--model', join(dir, 'model.json'), '--input', bad, '--out', join(dir, 'x.jsonl'))
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/^error UnknownVariable: .*zz/)
  })
})

describe('mvad evaluate and chart', () => {
  // A results file written earlier by `mvad detect` (fixture), so these checks do not depend on the model.
  const results = `${F}results.jsonl`
  it('prints a metrics table and JSON', async () => {
    const table = await mvad(
      'evaluate',
      ...['--results', results, '--labels', `${F}labels.csv`, '--interpretation', `${F}interpretation.csv`],
    )
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/^bestF1 +\d\.\d{3}/m)
    expect(table.stdout).toMatch(/labelled anomalous 6/)
    const json = await mvad('evaluate', '--results', results, '--labels', `${F}labels.csv`, '--json')
    const report = JSON.parse(json.stdout) as Record<string, unknown>
    expect(report).toMatchObject({ rows: 260, positives: 6, unscored: 0, hit100: null })
  })

  it('draws SVG and PNG; other extensions are a usage error', async () => {
    expect(
      (await mvad('chart', '--results', results, '--labels', `${F}labels.csv`, '--out', join(dir, 'c.svg'))).code,
    ).toBe(0)
    expect(await readFile(join(dir, 'c.svg'), 'utf8')).toMatch(/^<svg/)
    expect((await mvad('chart', '--results', results, '--out', join(dir, 'c.png'))).code).toBe(0)
    expect((await readFile(join(dir, 'c.png'))).subarray(1, 4).toString()).toBe('PNG')
    const bad = await mvad('chart', '--results', results, '--out', join(dir, 'c.gif'))
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/\.svg or \.png/)
  })

  it('warns when the labels cover another period (the chart would show none)', async () => {
    const ok = await mvad('chart', '--results', results, '--labels', `${F}labels.csv`, '--out', join(dir, 'd.svg'))
    expect(ok.stderr).not.toContain('warning')
    const other = join(dir, 'labels-2030.csv')
    await writeFile(other, 'timestamp,label\n2030-01-01T00:00:00Z,1\n')
    const r = await mvad('chart', '--results', results, '--labels', other, '--out', join(dir, 'e.svg'))
    expect([r.code, r.stderr]).toEqual([
      0,
      `warning: none of the 1 timestamps of ${other} is in ${results} (do they cover the same period?); the chart shows no labels\nchart of 260 rows written to ${join(dir, 'e.svg')}\n`,
    ])
  })
})

describe('mvad answers bad input with a clear message and exit code', () => {
  const results = `${F}results.jsonl`
  it('a chart into a missing folder: exit 3 naming the path (PNG as SVG)', async () => {
    for (const out of [join(dir, 'nope', 'c.png'), join(dir, 'nope', 'c.svg')]) {
      const r = await mvad('chart', '--results', results, '--out', out)
      expect(r.code).toBe(3)
      expect(r.stderr).toContain(`cannot write ${out}`)
    }
  })

  it('flags that contradict each other are usage errors (exit 2) before any data is read', async () => {
    const fixed = await mvad('train', '--input', '/nope.csv', '--out', join(dir, 'm.json'), '--fill-na-method', 'Fixed')
    expect(fixed.code).toBe(2)
    expect(fixed.stderr).toMatch(/paddingValue|padding-value/)
    const range = await mvad(
      'train',
      ...['--input', '/nope.csv', '--out', join(dir, 'm.json')],
      ...['--start-time', '2024-01-01T05:00:00Z', '--end-time', '2024-01-01T01:00:00Z'],
    )
    expect(range.code).toBe(2)
    expect(range.stderr).toContain('--end-time must not be before --start-time')
  })

  it('a model file that is not a model names the file', async () => {
    const bad = join(dir, 'empty-model.json')
    await writeFile(bad, '{}')
    const r = await mvad('detect', '--model', bad, '--input', `${F}test.csv`, '--out', join(dir, 'x.jsonl'))
    expect(r.code).toBe(3)
    expect(r.stderr).toContain(`error InvalidModelState: ${bad}: `)
    const model = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
      modelInfo: { alignPolicy: Record<string, unknown> }
    }
    model.modelInfo.alignPolicy.alignMode = 'Bogus'
    const policy = join(dir, 'bogus-policy.json')
    await writeFile(policy, JSON.stringify(model))
    const p = await mvad('detect', '--model', policy, '--input', `${F}test.csv`, '--out', join(dir, 'x.jsonl'))
    expect(p.code).toBe(3)
    expect(p.stderr).toContain(`error InvalidModelState: ${policy}: modelInfo.alignPolicy: alignMode`)
    // The envelope's own problems are named as such, and a parser message stays on one line.
    const other = join(dir, 'other-format.json')
    await writeFile(other, JSON.stringify({ ...model, format: 'someone-else/model' }))
    const o = await mvad('detect', '--model', other, '--input', `${F}test.csv`, '--out', join(dir, 'x.jsonl'))
    expect(o.stderr).toContain(`${other}: format is "someone-else/model", expected "mvad-stream/model-file"`)
    const stateless = join(dir, 'stateless.json')
    await writeFile(stateless, JSON.stringify({ ...model, state: undefined }))
    const n = await mvad('detect', '--model', stateless, '--input', `${F}test.csv`, '--out', join(dir, 'x.jsonl'))
    expect(n.stderr).toContain(`${stateless}: the model file has no "state" object`)
    const broken = join(dir, 'broken.json')
    await writeFile(broken, '{"format": "mvad-stream/model-file",\n "version": 1,\n oops}')
    const b = await mvad('detect', '--model', broken, '--input', `${F}test.csv`, '--out', join(dir, 'x.jsonl'))
    expect(b.code).toBe(3)
    expect(b.stderr).toMatch(/^error InvalidJsonFormat: model file .* is not valid JSON: [^\n]*\n$/)
  })

  it('evaluate warns when no labelled timestamp has a result, and counts them missed', async () => {
    const labels = join(dir, 'elsewhere.csv')
    await writeFile(labels, 'timestamp,label\n2030-01-01T00:00:00Z,1\n2030-01-01T00:01:00Z,1\n')
    const r = await mvad('evaluate', '--results', results, '--labels', labels, '--json')
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/^warning: none of the 2 labelled timestamps/)
    expect(JSON.parse(r.stdout)).toMatchObject({ bestF1: 0, aucPR: 0, unscored: 2 })
    // Labels without one anomaly: the metrics are not defined, and it is said.
    const calm = join(dir, 'calm.csv')
    await writeFile(calm, (await readFile(`${F}labels.csv`, 'utf8')).replace(/,1$/gm, ',0'))
    const none = await mvad('evaluate', '--results', results, '--labels', calm)
    expect(none.code).toBe(0)
    expect(none.stderr).toMatch(/^warning: .*calm\.csv marks none of its \d+ timestamps anomalous \(1\)/)
  })
})

describe('mvad refuses what would give meaningless output (exit 3)', () => {
  const results = `${F}results.jsonl`
  it('evaluate and chart: a folder, an empty or a duplicated results file; empty labels; columns out of place', async () => {
    const folder = await mvad('evaluate', '--results', dir, '--labels', `${F}labels.csv`)
    expect([folder.code, folder.stderr]).toEqual([
      3,
      expect.stringMatching(/^error ReadingFileError: cannot read results file .*EISDIR/),
    ])
    const empty = join(dir, 'empty.jsonl')
    await writeFile(empty, '\n')
    const chart = await mvad('chart', '--results', empty, '--out', join(dir, 'empty.svg'))
    expect([chart.code, chart.stderr]).toEqual([3, `error NoData: results file ${empty} holds no result\n`])
    const first = (await readFile(results, 'utf8')).split('\n')[0] ?? ''
    const twice = join(dir, 'twice.jsonl')
    await writeFile(twice, `${first}\n${first}\n`)
    const duplicated = await mvad('evaluate', '--results', twice, '--labels', `${F}labels.csv`)
    expect(duplicated.stderr).toBe(`error DuplicatedTimestamps: ${twice} line 2: timestamp is on line 1 already\n`)
    const headerOnly = join(dir, 'header-only.csv')
    await writeFile(headerOnly, 'timestamp,label\n')
    const noLabels = await mvad('evaluate', '--results', results, '--labels', headerOnly)
    expect(noLabels.stderr).toBe(`error NoData: ${headerOnly} holds no label (only a header)\n`)
    const causes = join(dir, 'commas.csv')
    await writeFile(causes, 'start,end,variables\n2024-01-07T10:40:00Z,2024-01-07T10:50:00Z,x05,x07\n')
    const commas = await mvad(
      'evaluate',
      '--results',
      results,
      '--labels',
      `${F}labels.csv`,
      '--interpretation',
      causes,
    )
    expect(commas.code).toBe(3)
    expect(commas.stderr).toMatch(
      /^error NumColumnsMismatch: .*commas.csv line 2: 4 columns, the header has 3 \(start,end,variables\); separate variables with ';'/,
    )
  })

  it('train: a variable without a single value, too few rows for a window and its calibration (naming the file)', async () => {
    const text = await readFile(`${F}train.csv`, 'utf8')
    const blank = join(dir, 'blank-column.csv')
    await writeFile(
      blank,
      text.replace(/^([^,\n]+),[^,\n]*/gm, (_, ts: string) => `${ts},`).replace(/^timestamp,/, 'timestamp,x05'),
    )
    const r = await mvad('train', '--input', blank, '--out', join(dir, 'blank.json'), '--sliding-window', '28')
    expect(r.code).toBe(3)
    expect(r.stderr).toBe(
      `error NoData: ${blank}: no value at all in the training data for 'x05' (every row would be filled); give such a variable data or leave it out\n`,
    )
    const wide = join(dir, 'wide.csv')
    const header = Array.from({ length: 10 }, (_, j) => `v${j}`).join(',')
    const rows = Array.from(
      { length: 150 },
      (_, t) =>
        `${new Date(Date.UTC(2024, 0, 1) + t * 60_000).toISOString()},` +
        Array.from({ length: 10 }, (_, j) => Math.sin(t / 7 + j).toFixed(4)).join(','),
    )
    await writeFile(wide, `timestamp,${header}\n${rows.join('\n')}\n`)
    const warned = await mvad('train', '--input', wide, '--out', join(dir, 'wide.json'), '--sliding-window', '28')
    expect(warned.code).toBe(0)
    expect(warned.stderr).toContain(
      'warning: 150 training rows for 10 varying variables (21 forecaster weights with lags 2): expect more false ' +
        'alarms than riskLevel says; train on at least 420 rows\n',
    )
    const short = await mvad(
      'train',
      '--input',
      `${F}train.csv`,
      '--out',
      join(dir, 's.json'),
      '--sliding-window',
      '301',
    )
    expect(short.code).toBe(3)
    expect(short.stderr).toMatch(
      new RegExp(`^error NotEnoughInput: ${F}train.csv: length of data is 400, .*at least 401 rows`),
    )
  })

  it('train, detect and tune check --out before reading any data', async () => {
    const out = join(dir, 'no-such-folder', 'm.json')
    for (const argv of [
      ['train', '--input', '/no-such.csv', '--out', out],
      ['detect', '--model', '/no-such.json', '--input', '/no-such.csv', '--out', out],
      ['tune', '--train', '/a.csv', '--validation', '/b.csv', '--labels', '/c.csv', '--out', out],
    ]) {
      const r = await mvad(...argv)
      expect([r.code, r.stderr]).toEqual([
        3,
        `error ReadingFileError: cannot write ${out} (--out): folder ${join(dir, 'no-such-folder')} does not exist\n`,
      ])
    }
    const folder = await mvad('train', '--input', '/no-such.csv', '--out', dir)
    expect(folder.stderr).toBe(`error ReadingFileError: cannot write ${dir} (--out): it names a folder, not a file\n`)
  })

  it('tune: validation rows with no labelled anomaly', async () => {
    const normal = join(dir, 'all-normal.csv')
    await writeFile(normal, (await readFile(`${F}labels.csv`, 'utf8')).replace(/,1$/gm, ',0'))
    const r = await mvad(
      'tune',
      ...['--train', `${F}train.csv`, '--validation', `${F}test.csv`, '--labels', normal, '--out', join(dir, 't.json')],
      ...['--sliding-window', '28'],
    )
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(
      /^error NoData: .*all-normal.csv: none of the 260 rows of .*test.csv is labelled anomalous \(1\)/,
    )
  })

  it('detect: an input that starts long after training does not borrow the training tail as its history', async () => {
    const text = await readFile(`${F}test.csv`, 'utf8')
    const later = join(dir, 'later.csv')
    await writeFile(later, text.replaceAll('2024-01-07T', '2024-01-09T'))
    const r = await mvad('detect', '--model', join(dir, 'model.json'), '--input', later, '--out', join(dir, 'l.jsonl'))
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(
      /the input starts 2 d after training ended, so it does not continue the training tail.*27 rows lack history/,
    )
  })
})

describe('mvad evaluate --interpretation', () => {
  it('warns when the results list fewer contributors than HitRate@150% needs for the segments', async () => {
    const causes = join(dir, 'causes.csv')
    await writeFile(causes, 'start,end,variables\n2024-01-07T12:40:00Z,2024-01-07T12:45:00Z,x05;x07;x09;x10\n')
    const results = join(dir, 'two.jsonl')
    const two = await mvad(
      'detect',
      ...['--model', join(dir, 'model.json'), '--input', `${F}test.csv`, '--out', results, '--top-contributors', '2'],
    )
    expect(two.code).toBe(0)
    const r = await mvad('evaluate', '--results', results, '--labels', `${F}labels.csv`, '--interpretation', causes)
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('warning: the results list at most 2 contributors per row; HitRate@150% needs 6')
    const all = await mvad('evaluate', '--results', `${F}results.jsonl`, '--labels', `${F}labels.csv`)
    expect(all.stderr).toBe('')
    // Every variable listed (4 of 4, --top-contributors 30): asking for more would not help, so nothing is said.
    const every = join(dir, 'every.jsonl')
    const listed = await mvad(
      'detect',
      ...['--model', join(dir, 'model.json'), '--input', `${F}test.csv`, '--out', every, '--top-contributors', '30'],
    )
    expect(listed.code).toBe(0)
    const wide = join(dir, 'causes-wide.csv')
    await writeFile(wide, 'start,end,variables\n2024-01-07T12:40:00Z,2024-01-07T12:45:00Z,x05;x07;x09;x10;x11\n')
    const quiet = await mvad('evaluate', '--results', every, '--labels', `${F}labels.csv`, '--interpretation', wide)
    expect([quiet.code, quiet.stderr]).toEqual([0, ''])
  })

  it('reads a results file saved with a byte-order mark', async () => {
    const bom = join(dir, 'bom.jsonl')
    await writeFile(bom, `\uFEFF${await readFile(`${F}results.jsonl`, 'utf8')}`)
    const r = await mvad('evaluate', '--results', bom, '--labels', `${F}labels.csv`, '--json')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ rows: 260 })
  })
})

describe('mvad tune', () => {
  it('writes the best model of the grid and a line per candidate', async () => {
    const out = join(dir, 'tuned.json')
    const r = await mvad(
      'tune',
      ...['--train', `${F}train.csv`, '--validation', `${F}test.csv`, '--labels', `${F}labels.csv`],
      ...['--out', out, '--sliding-window', '28', '--param', 'noveltyHold=1'],
    )
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/best F1 \d\.\d{3} of \d+ candidates/)
    expect(r.stdout.trim().split('\n')).toHaveLength(27) // the 54-point grid without noveltyHold, which --param fixed
    const file = JSON.parse(await readFile(out, 'utf8')) as {
      format: string
      state: { params: { slidingWindow: number; noveltyHold: number } }
    }
    expect(file.format).toBe('mvad-stream/model-file')
    expect(file.state.params.slidingWindow).toBe(28)
    expect(file.state.params.noveltyHold).toBe(1) // a --param is kept: the search does not vary it
  })
})

describe('exit codes and messages', () => {
  it('usage errors exit 2', async () => {
    expect((await mvad()).code).toBe(2)
    expect((await mvad('train', '--input', 'x.csv')).code).toBe(2) // missing --out
    const r = await mvad('train', '--input', `${F}train.csv`, '--out', join(dir, 'm.json'), '--sliding-window', '5')
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/between 28 and 2880/)
    expect((await mvad('train', '--input', 'x', '--out', 'y', '--align-mode', 'inner')).code).toBe(2)
    expect((await mvad('--help')).code).toBe(0)
  })

  it("--help marks a command's required options", async () => {
    const help = await mvad('train', '--help')
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/--input <csv\|folder> +\(required\) training data/)
    expect(help.stdout).toMatch(/--out <model\.json> +\(required\) where to write/)
    expect(help.stdout).toMatch(/--sliding-window <n> +rows per window/)
  })

  it.each([
    ['timestamp,a\n2024-01-01T00:00:00Z,1\nnot-a-time,2\n', 'InvalidTimestampFormat', /line 3, column 'timestamp'/],
    ['timestamp,a\n2024-01-01T00:00:00Z,x\n', 'VariableParseError', /line 2, column 'a': 'x'/],
    ['time,a\n2024-01-01T00:00:00Z,1\n', 'ColumnNotFound', /'timestamp'/],
    ['timestamp,a\n2024-01-01T00:00:00Z,1\n', 'NotEnoughInput', /length of data is 1/],
  ])('bad data exits 3 with the MVAD code %#', async (text, code, message) => {
    const path = join(dir, 'bad.csv')
    await writeFile(path, text)
    const r = await mvad('train', '--input', path, '--out', join(dir, 'bad.json'), '--sliding-window', '28')
    expect(r.code).toBe(3)
    expect(r.stderr.startsWith(`error ${code}: `)).toBe(true)
    expect(r.stderr).toMatch(message)
  })

  it('a folder is MultiTable; missing files are reported', async () => {
    const folder = join(dir, 'multi')
    await mkdir(folder)
    await writeFile(join(folder, 'x05.csv'), 'timestamp,value\n2024-01-07T00:00:00Z,1\n')
    const r = await mvad('detect', '--model', join(dir, 'model.json'), '--input', folder, '--out', join(dir, 'm.jsonl'))
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/^error FileNotExist: .*x07\.csv/)
  })

  it('missing files exit 3 with FileNotExist', async () => {
    const r = await mvad('detect', '--model', join(dir, 'nope.json'), '--input', `${F}test.csv`, '--out', 'x')
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/error FileNotExist: model file .*nope\.json/)
  })
})

describe('mvad submit', () => {
  it('checks the command against the schema before sending anything', async () => {
    const bad = await mvad('submit', '--json', '{"type":"train","jobId":"j1","modelId":"m"}')
    expect(bad.code).toBe(3)
    expect(bad.stderr).toMatch(/error InvalidJsonFormat: the command is not valid \(invalid_command\).*'source'/)
    const both = await mvad('submit')
    expect(both.code).toBe(2)
    expect(both.stderr).toMatch(/exactly one of --file or --json/)
  })
})
