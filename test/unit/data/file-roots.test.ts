import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { insideFolders } from '../../../src/data/file-roots.js'

describe('insideFolders', () => {
  const base = mkdtempSync(join(tmpdir(), 'mvad-roots-'))
  const data = join(base, 'data')
  const other = join(base, 'other')
  mkdirSync(join(data, 'sub'), { recursive: true })
  mkdirSync(other)
  writeFileSync(join(data, 'sub', 'train.csv'), 'timestamp,a\n')
  writeFileSync(join(other, 'secret'), 'token\n')
  symlinkSync(join(other, 'secret'), join(data, 'link-out'))
  symlinkSync(data, join(base, 'data-link'))

  it('takes files in a folder or below it, the folder itself, and a missing file there (its reader reports it)', async () => {
    for (const path of [
      join(data, 'sub', 'train.csv'),
      data,
      join(data, 'missing.csv'),
      `${data}/sub/../sub/train.csv`,
    ])
      expect((await insideFolders(path, [other, data])).inside, path).toBe(true)
  })

  it('refuses files elsewhere, a way out by .., and a symbolic link inside that leads out', async () => {
    for (const path of [
      join(other, 'secret'),
      `${data}/../other/secret`,
      join(data, 'link-out'),
      '/etc/hostname',
      base,
    ])
      expect((await insideFolders(path, [data])).inside, path).toBe(false)
    expect((await insideFolders(join(data, 'link-out'), [data])).real).toBe(join(other, 'secret'))
    expect((await insideFolders(join(data, 'sub'), [])).inside).toBe(false) // no folder: nothing is inside
  })

  it('a folder given through a symbolic link counts as where it leads; a path must be inside as written too', async () => {
    expect((await insideFolders(join(data, 'sub', 'train.csv'), [join(base, 'data-link')])).inside).toBe(true)
    expect((await insideFolders(join(base, 'data-link', 'sub', 'train.csv'), [data])).inside).toBe(false)
  })
})
