import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
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
  // A MultiTable folder inside whose CSVs are links: one to a file inside, one leading out.
  mkdirSync(join(data, 'multi-ok'))
  symlinkSync(join(data, 'sub', 'train.csv'), join(data, 'multi-ok', 'a.csv'))
  mkdirSync(join(data, 'multi-out'))
  writeFileSync(join(data, 'multi-out', 'a.csv'), 'timestamp,value\n')
  symlinkSync(join(other, 'secret'), join(data, 'multi-out', 'b.csv'))
  writeFileSync(join(data, '..x.csv'), 'timestamp,a\n')
  afterAll(() => rmSync(base, { recursive: true, force: true }))

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

  it('a folder given through a symbolic link takes paths named through the link or where it leads', async () => {
    const link = join(base, 'data-link')
    for (const path of [join(data, 'sub', 'train.csv'), join(link, 'sub', 'train.csv')])
      expect((await insideFolders(path, [link])).inside, path).toBe(true)
    expect((await insideFolders(join(link, 'sub', 'train.csv'), [data])).inside).toBe(true)
    expect((await insideFolders(join(link, 'link-out'), [link])).inside).toBe(false)
  })
})
