import { constants } from 'node:fs'
import { access, chmod, lstat, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { reportError, UsageError } from '../../../src/cli/exit.js'
import { assertWritable, writeResultsJsonl, writeText } from '../../../src/cli/io.js'
import type { AnomalyState } from '../../../src/domain/types.js'
import { Capture } from '../../support/cli-run.js'

let dir = ''
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mvad-io-'))
})
afterAll(async () => rm(dir, { recursive: true, force: true }))

const result = (timestamp: number): AnomalyState => ({
  timestamp,
  value: { isAnomaly: false, score: 0.5, severity: 0, interpretation: [] },
  errors: [],
})

describe('CLI output files', () => {
  it('a results write that fails midway leaves the earlier file whole and no partial or temporary file', async () => {
    const out = join(dir, 'results.jsonl')
    await writeResultsJsonl(out, [result(0), result(60_000)])
    const before = await readFile(out, 'utf8')
    expect(before.trim().split('\n')).toHaveLength(2)
    // 20,000 rows, the 15,000th of which cannot be written: well past the stream's first buffer flushes.
    const rows = Array.from({ length: 20_000 }, (_, i) => result(i * 60_000))
    const failing = new Proxy(rows, {
      get(target, key, receiver): unknown {
        if (key === '14999') throw new Error('disk full')
        return Reflect.get(target, key, receiver) as unknown
      },
    })
    await expect(writeResultsJsonl(out, failing)).rejects.toMatchObject({
      code: 'ReadingFileError',
      message: `cannot write ${out}: disk full`,
    })
    expect(await readFile(out, 'utf8')).toBe(before)
    expect(await readdir(dir)).toEqual(['results.jsonl'])
  })

  it('writes a device in place (a rename would replace /dev/null itself)', async () => {
    await writeText('/dev/null', 'x')
    await writeResultsJsonl('/dev/null', [result(0)])
    expect((await stat('/dev/null')).isCharacterDevice()).toBe(true)
    expect((await readdir('/dev')).filter((n) => n.endsWith('.tmp'))).toEqual([])
  })

  it("replaces a symbolic link's target, not the link, and keeps the old file's permissions", async () => {
    const real = join(dir, 'private-model.json')
    await writeFile(real, 'old', { mode: 0o600 })
    await chmod(real, 0o600)
    const link = join(dir, 'model-link.json')
    await symlink(real, link)
    await writeText(link, 'new')
    expect((await lstat(link)).isSymbolicLink()).toBe(true)
    expect(await readFile(real, 'utf8')).toBe('new')
    expect((await stat(real)).mode & 0o777).toBe(0o600)
    await rm(link)
    await rm(real)
  })

  it('refuses an output it may not write, before any work, saying so (even when run as root)', async () => {
    const locked = join(dir, 'locked.json')
    await writeFile(locked, 'x')
    // root may write any file, so the refusal is driven by an access check that denies, as access() does for others.
    const asked: string[] = []
    const denied = (path: string): Promise<void> => {
      asked.push(path)
      return Promise.reject(Object.assign(new Error(`EACCES: permission denied, access '${path}'`), { code: 'EACCES' }))
    }
    await expect(assertWritable(locked, '--out', [], denied)).rejects.toMatchObject({
      code: 'ReadingFileError',
      message: `cannot write ${locked} (--out): no permission (EACCES)`,
    })
    // A new file: its folder must take new files.
    const fresh = join(dir, 'fresh-locked.json')
    await expect(assertWritable(fresh, '--out', [], denied)).rejects.toMatchObject({
      code: 'ReadingFileError',
      message: `cannot write ${fresh} (--out): no permission (EACCES)`,
    })
    expect(asked).toEqual([locked, dir])
    // What a shell user sees: exit 3 and one line.
    const stderr = new Capture()
    expect(reportError(await assertWritable(locked, '--out', [], denied).catch((e: unknown) => e), stderr)).toBe(3)
    expect(stderr.text).toBe(`error ReadingFileError: cannot write ${locked} (--out): no permission (EACCES)\n`)
    // Without one, access() decides: a read-only file is refused unless this user may write anyway (root).
    await chmod(locked, 0o444)
    const writable = await access(locked, constants.W_OK).then(
      () => true,
      () => false,
    )
    const real = assertWritable(locked, '--out')
    await (writable ? expect(real).resolves.toBeUndefined() : expect(real).rejects.toThrow('no permission (EACCES)'))
    await rm(locked)
  })

  it('writeText replaces a file whole', async () => {
    const out = join(dir, 'model.json')
    await writeText(out, '{"a":1}')
    await writeText(out, '{"b":2}')
    expect(await readFile(out, 'utf8')).toBe('{"b":2}')
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([])
  })

  it('refuses, before any work, an output that is an input, a folder, or under a file or a missing folder', async () => {
    const input = join(dir, 'train.csv')
    await writeFile(input, 'timestamp,x\n')
    await mkdir(join(dir, 'sub'))
    await expect(assertWritable(input, '--out', [join(dir, 'other.csv'), input])).rejects.toThrow(UsageError)
    await expect(assertWritable(join(dir, 'sub', '..', 'train.csv'), '--out', [input])).rejects.toThrow('is the input')
    await expect(assertWritable(join(dir, 'sub'), '--out')).rejects.toThrow('it names a folder, not a file')
    await expect(assertWritable(join(dir, 'nodir') + '/', '--out')).rejects.toThrow(
      `--out ${join(dir, 'nodir')}/ ends with a slash: give a file name (e.g. ${join(dir, 'nodir', 'out.json')})`,
    )
    await expect(assertWritable('', '--out')).rejects.toThrow('--out is empty: give the file to write')
    await expect(assertWritable(join(input, 'x.json'), '--out')).rejects.toThrow(`${input} is not a folder`)
    await expect(assertWritable(join(dir, 'nodir', 'x.json'), '--out')).rejects.toThrow(
      `folder ${join(dir, 'nodir')} does not exist`,
    )
    await expect(assertWritable(join(dir, 'fresh.json'), '--out', [input])).resolves.toBeUndefined()
  })
})
