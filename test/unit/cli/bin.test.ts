import { beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { expectFreshBuild } from '../../support/built.js'
import { fileURLToPath } from 'node:url'

// The built bin (npm run build): checks what only a real process shows — shebang, process exit codes, stdio.
const bin = fileURLToPath(new URL('../../../dist/src/cli/main.js', import.meta.url))
const F = fileURLToPath(new URL('../../fixtures/cli/', import.meta.url))
const mvad = (...args: string[]): ReturnType<typeof spawnSync> =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 30_000 })

describe('mvad bin (built)', () => {
  // Not skipped without a build: `npm test` builds first; `npm run test:unit` alone needs `npm run build` before it.
  beforeAll(() => expectFreshBuild('dist/src/cli/main.js'))
  it('has a node shebang', () => {
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true)
  })
  it('exits 0 for --help, 2 for usage errors, 3 for bad data', () => {
    expect(mvad('--help').status).toBe(0)
    const version = mvad('--version')
    expect([version.status, version.stdout]).toEqual([
      0,
      `${(JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version}\n`,
    ])
    expect(mvad('train', '--input', 'x.csv', '--out', 'm.json', '--sliding-window', '0x20').status).toBe(2)
    expect(mvad('chart', '--results', 'r.jsonl', '--out', 'c.svg', '--threshold', 'Infinity').status).toBe(2)
    expect(mvad('detect').status).toBe(2)
    const bad = mvad('train', '--input', `${F}interpretation.csv`, '--out', '/dev/null')
    expect(bad.status).toBe(3)
    expect(bad.stderr).toMatch(/^error ColumnNotFound: .*interpretation\.csv line 1: no 'timestamp' column/)
  }, 30_000) // seven processes of ~0.7 s each on a 2-core machine: over vitest's default 5 s when it is busy
  it('reads - as standard input and writes - as standard output (shell pipes), one - reader at a time', () => {
    // Through bash, as a shell user pipes: train writes the model to stdout, detect reads it from stdin.
    const script =
      '"$0" "$1" train --input "$2train.csv" --out - --sliding-window 28 2>/dev/null' +
      ' | "$0" "$1" detect --model - --input "$2test.csv" --out - 2>/dev/null | cat' // cat: stdout here is a socket
    const piped = spawnSync('bash', ['-o', 'pipefail', '-c', script, process.execPath, bin, F], {
      encoding: 'utf8',
      timeout: 30_000,
    })
    expect(piped.status).toBe(0)
    const lines = piped.stdout.trim().split('\n')
    expect(lines).toHaveLength(readFileSync(`${F}test.csv`, 'utf8').trim().split('\n').length - 1)
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ value: { isAnomaly: expect.any(Boolean) as unknown } })
    const twice = mvad('evaluate', '--results', '-', '--labels', '-')
    expect([twice.status, twice.stderr]).toEqual([
      2,
      'error: only one option can read standard input (-): --results, --labels\n',
    ])
  }, 30_000)
  it('stops quietly (status 141, no stack) when the reader of its output goes away', () => {
    const tune = [bin, 'tune', '--train', `${F}train.csv`, '--validation', `${F}test.csv`, '--labels', `${F}labels.csv`]
    const out = `${tmpdir()}/mvad-bin-${process.pid}.json`
    const script = `"$0" "$@" --out ${out} --sliding-window 28 | true; echo "status \${PIPESTATUS[0]}" >&2`
    const r = spawnSync('bash', ['-c', script, process.execPath, ...tune], { encoding: 'utf8', timeout: 60_000 })
    rmSync(out, { force: true })
    expect(r.stderr).toMatch(/status 141\n$/)
    expect(r.stderr).not.toMatch(/EPIPE/)
  })
  it('evaluates a results file', () => {
    const r = mvad('evaluate', '--results', `${F}results.jsonl`, '--labels', `${F}labels.csv`, '--json')
    expect(r.status).toBe(0)
    expect(JSON.parse(String(r.stdout))).toMatchObject({ rows: 260, positives: 6 })
  })
})
