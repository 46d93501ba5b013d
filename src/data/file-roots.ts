/**
 * Whether a file lies in one of some folders, as a service that reads files named by its clients must ask: judged on
 * the path as given and on where its symbolic links lead (a link inside a folder pointing out of it is out).
 */
import { realpath } from 'node:fs/promises'
import { isAbsolute, relative, resolve } from 'node:path'

/** `real`: the path with its symbolic links resolved (as given, made absolute, when it does not exist). */
export async function insideFolders(
  path: string,
  folders: readonly string[],
): Promise<{ inside: boolean; real: string }> {
  const absolute = resolve(path)
  const real = await realpath(absolute).catch(() => absolute) // a missing file is for its reader to report
  const roots = await Promise.all(folders.map((folder) => realpath(folder).catch(() => resolve(folder))))
  const within = (candidate: string): boolean =>
    roots.some((root) => {
      const rel = relative(root, candidate)
      return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
    })
  return { inside: within(absolute) && within(real), real }
}
