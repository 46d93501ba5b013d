/**
 * Whether a file lies in one of some folders, as a service that reads files named by its clients must ask: judged on
 * where its symbolic links lead (a link inside a folder pointing out of it is out), and for a folder (a MultiTable
 * source, read with the links among its CSVs followed) on where each of its CSVs leads.
 */
import { readdir, realpath } from 'node:fs/promises'
import { isAbsolute, join, relative, resolve, sep } from 'node:path'

/** `real`: the path with its symbolic links resolved (as given, made absolute, when it does not exist). */
export async function insideFolders(
  path: string,
  folders: readonly string[],
): Promise<{ inside: boolean; real: string }> {
  const absolute = resolve(path)
  const found = await realpath(absolute).catch(() => undefined)
  const given = folders.map((folder) => resolve(folder))
  const resolved = await Promise.all(given.map((folder) => realpath(folder).catch(() => folder)))
  const within = (candidate: string, roots: readonly string[]): boolean =>
    roots.some((root) => {
      const rel = relative(root, candidate)
      return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel))
    })
  // What is read is where the links lead; a missing file (its reader reports it) is judged by its name.
  const real = found ?? absolute
  let inside = found === undefined ? within(absolute, given) || within(absolute, resolved) : within(found, resolved)
  if (inside) {
    const entries = await readdir(real, { withFileTypes: true }).catch(() => []) // not a folder: nothing to add
    for (const entry of entries) {
      if (!entry.isSymbolicLink() || !entry.name.toLowerCase().endsWith('.csv')) continue
      const target = await realpath(join(real, entry.name)).catch(() => undefined) // a dangling link is not read
      if (target !== undefined && !within(target, resolved)) inside = false
    }
  }
  return { inside, real }
}
