import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mvad } from '../../support/cli-run.js'

const F = fileURLToPath(new URL('../../fixtures/cli/', import.meta.url))

let dir = ''
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mvad-flags-'))
})
afterAll(async () => rm(dir, { recursive: true, force: true }))

describe('mvad train --param', () => {
  it('sets model parameters, and refuses unknown names, bad values and slidingWindow before reading any data', async () => {
    const out = join(dir, 'params.json')
    const r = await mvad(
      'train',
      ...['--input', `${F}train.csv`, '--out', out, '--sliding-window', '28'],
      ...['--param', 'noveltyHold=1', '--param', 'riskLevel=0.01'],
    )
    expect(r.code).toBe(0)
    const file = JSON.parse(await readFile(out, 'utf8')) as { state: { params: Record<string, number> } }
    expect(file.state.params).toMatchObject({ slidingWindow: 28, noveltyHold: 1, riskLevel: 0.01, smoothing: 5 })

    const missing = join(dir, 'no-such.csv') // never read: the parameters are checked first
    const unknown = await mvad(
      'train',
      '--input',
      missing,
      '--out',
      out,
      '--param',
      'noveltyHolds=1',
      '--param',
      'lags=0',
    )
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(
      /--param: .*unknown parameter 'noveltyHolds'.*lags must be an integer in \[1, 10\], got 0/,
    )
    const malformed = await mvad('train', '--input', missing, '--out', out, '--param', 'noveltyHold')
    expect(malformed.code).toBe(2)
    expect(malformed.stderr).toMatch(/expected name=value/)
    const notNumber = await mvad('train', '--input', missing, '--out', out, '--param', 'riskLevel=low')
    expect(notNumber.stderr).toMatch(/expected a decimal number for riskLevel, got 'low'/)
    const twice = await mvad('train', '--input', missing, '--out', out, '--param', 'lags=2', '--param', 'lags=3')
    expect(twice.stderr).toMatch(/lags is given twice/)
    const window = await mvad('train', '--input', missing, '--out', out, '--param', 'slidingWindow=100')
    expect(window.code).toBe(2)
    expect(window.stderr).toMatch(/set slidingWindow with --sliding-window/)
    // Malformed, unknown and out-of-range parameters are reported together, not the last one alone.
    const all = await mvad(
      ...['train', '--input', missing, '--out', out],
      ...['--param', 'foo=1', '--param', 'riskLevel=7', '--param', 'smoothing=abc', '--param', 'lags'],
    )
    expect(all.code).toBe(2)
    expect(all.stderr).toContain("expected a decimal number for smoothing, got 'abc'")
    expect(all.stderr).toContain("'lags': expected name=value")
    expect(all.stderr).toContain("unknown parameter 'foo'")
    expect(all.stderr).toMatch(/riskLevel .*got 7/)
  })
})

describe('flags that cannot go together', () => {
  it('refuses a flag given twice and a padding value without the Fixed method, before reading anything', async () => {
    const twice = await mvad('train', '--input', 'a.csv', '--input', 'b.csv', '--out', join(dir, 'm.json'))
    expect([twice.code, twice.stderr]).toEqual([2, 'error: --input is given more than once; give it once\n'])
    const windows = await mvad('train', '--input', 'a.csv', '--sliding-window=60', '--sliding-window', '100')
    expect(windows.stderr).toContain('--sliding-window is given more than once')
    const padding = await mvad(
      ...['train', '--input', 'a.csv', '--out', join(dir, 'm.json'), '--fill-na-method', 'Linear'],
      ...['--padding-value', '3'],
    )
    expect([padding.code, padding.stderr]).toEqual([
      2,
      'error: --padding-value is used only with --fill-na-method Fixed (the method is Linear)\n',
    ])
  })
})

describe('mvad --version', () => {
  it('prints the version before a command, and is the command’s own option after one', async () => {
    const version = await mvad('--version')
    expect(version.code).toBe(0)
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/)
    // bind's --version (pin a model version) reaches bind: it is checked, and nothing prints the program version.
    const bind = await mvad('bind', '--entity', 'e', '--model', 'm', '--version', '0')
    expect(bind.code).toBe(2)
    expect(bind.stdout).toBe('')
    expect(bind.stderr).toMatch(/--version.*1.*1000000/)
    // A command without a --version of its own refuses it rather than printing the version and doing nothing.
    const train = await mvad('train', '--input', 'x.csv', '--out', join(dir, 'v.json'), '--version')
    expect(train.code).toBe(2)
    expect(train.stderr).toContain("unknown option '--version'")
  })
})
