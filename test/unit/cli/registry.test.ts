/**
 * Bad input to the CLI commands that reach the service's stores (model upload/list, bind, jobs), answered before
 * or without a Redis: what a shell user sees (exit code, stderr). The answers that need a Redis are in
 * test/integration/cli-registry.test.ts.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mvad, mvadWith } from '../../support/cli-run.js'

const F = fileURLToPath(new URL('../../fixtures/cli/', import.meta.url))
// Port 1 on this machine: nothing listens, the connection is refused at once.
const UNREACHABLE = 'redis://127.0.0.1:1'
const NO_REDIS =
  'cannot reach Redis at redis://127.0.0.1:1 (set REDIS_URL; start local servers with npm run infra:up): ' +
  'connect ECONNREFUSED 127.0.0.1:1'

let dir = ''
let model = ''
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mvad-registry-'))
  model = join(dir, 'model.json')
  const r = await mvad('train', '--input', `${F}train.csv`, '--out', model, '--sliding-window', '28')
  expect([r.code, r.stderr]).toEqual([0, expect.stringMatching(/trained on 400 rows/)])
}, 120_000)
afterAll(async () => rm(dir, { recursive: true, force: true }))

describe('mvad model upload: a bad name or file is refused before Redis is reached', () => {
  // REDIS_URL points nowhere: a refusal that is not InfrastructureUnavailable was made before connecting.
  const env = { REDIS_URL: UNREACHABLE }

  it('refuses a --name that is not 1–128 letters, digits, . _ - (usage, exit 2)', async () => {
    for (const name of ['bad name', '', 'a/b', 'x'.repeat(129)]) {
      const r = await mvadWith(env, 'model', 'upload', '--model', model, '--name', name)
      expect([r.code, r.stdout, r.stderr]).toEqual([
        2,
        '',
        `error: --name "${name}" must be 1–128 letters, digits, . _ -\n`,
      ])
    }
    // 128 characters is a name: the upload goes on, to the (unreachable) Redis.
    const longest = await mvadWith(env, 'model', 'upload', '--model', model, '--name', `a.b_c-${'x'.repeat(122)}`)
    expect([longest.code, longest.stderr]).toEqual([3, `error InfrastructureUnavailable: ${NO_REDIS}\n`])
  })

  it('refuses a missing file and a folder, naming the path (exit 3)', async () => {
    const missing = join(dir, 'no-such-model.json')
    const gone = await mvadWith(env, 'model', 'upload', '--model', missing, '--name', 'm1')
    expect([gone.code, gone.stdout, gone.stderr]).toEqual([
      3,
      '',
      `error FileNotExist: model file ${missing} does not exist\n`,
    ])
    const folder = await mvadWith(env, 'model', 'upload', '--model', dir, '--name', 'm1')
    expect([folder.code, folder.stderr]).toEqual([3, `error FileNotExist: model file ${dir} is a folder, not a file\n`])
  })

  it('refuses a file that is not JSON, and JSON that is not a model, naming the file (exit 3)', async () => {
    const upload = (file: string): Promise<{ code: number; stdout: string; stderr: string }> =>
      mvadWith(env, 'model', 'upload', '--model', file, '--name', 'm1')
    const text = await readFile(model, 'utf8')
    const cut = join(dir, 'cut.json') // a copy that stopped half way
    await writeFile(cut, text.slice(0, text.length >> 1))
    const notJson = await upload(cut)
    expect([notJson.code, notJson.stdout]).toEqual([3, ''])
    expect(notJson.stderr).toMatch(/^[^\n]+\n$/) // one line
    expect(notJson.stderr.startsWith(`error InvalidJsonFormat: model file ${cut} is not valid JSON: `)).toBe(true)

    const file = JSON.parse(text) as { state: { kind: string; params: { slidingWindow: number } } }
    const variants: [string, unknown, string][] = [
      [
        'empty.json',
        {},
        'InvalidModelState: %: invalid model state: kind is undefined, expected "mvad-stream/multivariate"',
      ],
      [
        'kind.json',
        { ...file, state: { ...file.state, kind: 'other' } },
        'InvalidModelState: %: invalid model state: kind is "other", expected "mvad-stream/multivariate"',
      ],
      [
        'window.json',
        { ...file, state: { ...file.state, params: { ...file.state.params, slidingWindow: 5 } } },
        "InvalidSlidingWindow: %: The 'slidingWindow' field must be an integer between 28 and 2880.",
      ],
    ]
    for (const [name, json, message] of variants) {
      const path = join(dir, name)
      await writeFile(path, JSON.stringify(json))
      const r = await upload(path)
      expect([r.code, r.stdout, r.stderr]).toEqual([3, '', `error ${message.replace('%', path)}\n`])
    }
  })
})

describe('a Redis that cannot be reached', () => {
  it('is InfrastructureUnavailable (exit 3) naming the URL and why, for every store command', async () => {
    const env = { REDIS_URL: UNREACHABLE }
    for (const argv of [
      ['model', 'upload', '--model', model, '--name', 'm1'], // a good file: refused for Redis alone
      ['model', 'list'],
      ['bind', '--entity', 'pump-1', '--model', 'm1'],
      ['jobs', 'list'],
      ['jobs', 'show', 'job-1'],
      ['jobs', 'watch', 'job-1', '--timeout', '1'],
    ]) {
      const r = await mvadWith(env, ...argv)
      expect([argv, r.code, r.stdout, r.stderr]).toEqual([
        argv,
        3,
        '',
        `error InfrastructureUnavailable: ${NO_REDIS}\n`,
      ])
    }
  })

  it('does not print the password of REDIS_URL', async () => {
    const r = await mvadWith({ REDIS_URL: 'redis://mvad:s3cret@127.0.0.1:1' }, 'model', 'list')
    expect([r.code, r.stderr]).toEqual([
      3,
      `error InfrastructureUnavailable: ${NO_REDIS.replace('redis://', 'redis://mvad:***@')}\n`,
    ])
  })
})

describe('mvad jobs list --status', () => {
  it('refuses a status that is not a job status, before reaching Redis (usage, exit 2)', async () => {
    const r = await mvadWith({ REDIS_URL: UNREACHABLE }, 'jobs', 'list', '--status', 'bogus')
    expect([r.code, r.stdout, r.stderr]).toEqual([
      2,
      '',
      "error: option '--status <status>' argument 'bogus' is invalid. expected one of CREATED, RUNNING, READY, FAILED\n" +
        '(run with --help for usage)\n',
    ])
  })
})
