/** CLI file I/O: results JSONL in/out, ground-truth files, model files. */
import { constants, createReadStream, createWriteStream } from 'node:fs'
import { access, readFile, stat, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import type { AnomalyState } from '../domain/types.js'
import { ServiceError } from '../errors.js'
import { parseWireAnomalyState, toWireAnomalyState } from '../pipeline/result-json.js'

export async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    throw new ServiceError('FileNotExist', `${what} ${path} does not exist or cannot be read`, { cause: err })
  }
}

export async function readJson(path: string, what: string): Promise<unknown> {
  const text = await readText(path, what)
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new ServiceError('InvalidJsonFormat', `${what} ${path} is not valid JSON: ${(err as Error).message}`)
  }
}

/** Writes an output file (text or bytes); a failure names the path (ReadingFileError, exit 3). */
export async function writeText(path: string, text: string | Uint8Array): Promise<void> {
  try {
    await writeFile(path, text)
  } catch (err) {
    throw new ServiceError('ReadingFileError', `cannot write ${path}: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * Checks, before any work, that an output file can be written: its folder exists and is writable, and the path is
 * not a folder. (The write itself still reports what this cannot foresee, a full disk say.)
 */
export async function assertWritable(path: string, flag: string): Promise<void> {
  const existing = await stat(path).catch(() => undefined)
  if (existing?.isDirectory() === true) {
    throw new ServiceError('ReadingFileError', `cannot write ${path} (${flag}): it is a folder`)
  }
  const folder = dirname(path)
  try {
    await access(existing === undefined ? folder : path, constants.W_OK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const reason =
      code === 'ENOENT'
        ? `folder ${folder} does not exist`
        : code === 'ENOTDIR'
          ? `${folder} is not a folder`
          : `no permission (${code ?? 'unknown'})`
    throw new ServiceError('ReadingFileError', `cannot write ${path} (${flag}): ${reason}`, { cause: err })
  }
}

/** Streams results to `path`, one MVAD AnomalyState per line. */
export async function writeResultsJsonl(path: string, results: readonly AnomalyState[]): Promise<void> {
  const out = createWriteStream(path)
  const failed = once(out, 'error').then(([err]) => {
    throw new ServiceError('ReadingFileError', `cannot write ${path}: ${(err as Error).message}`, { cause: err })
  })
  const write = async (): Promise<void> => {
    for (const r of results) {
      if (!out.write(`${JSON.stringify(toWireAnomalyState(r))}\n`)) await once(out, 'drain')
    }
    out.end()
    await once(out, 'finish')
  }
  await Promise.race([write(), failed])
}

/**
 * Reads a results file (one MVAD AnomalyState per line, as `detect` writes). Refuses an unreadable path (a folder,
 * no permission), a line that is not a result, a timestamp given twice, and a file with no result at all.
 */
export async function readResultsJsonl(path: string): Promise<AnomalyState[]> {
  try {
    await access(path)
  } catch (err) {
    throw new ServiceError('FileNotExist', `results file ${path} does not exist or cannot be read`, { cause: err })
  }
  const results: AnomalyState[] = []
  const lineOf = new Map<number, number>()
  const input = createReadStream(path)
  const lines = createInterface({ input, crlfDelay: Infinity })
  let n = 0
  try {
    for await (const line of lines) {
      n++
      if (line.trim() === '') continue
      const result = parseWireAnomalyState(line, path, n)
      const earlier = lineOf.get(result.timestamp)
      if (earlier !== undefined) {
        throw new ServiceError('DuplicatedTimestamps', `${path} line ${n}: timestamp is on line ${earlier} already`)
      }
      lineOf.set(result.timestamp, n)
      results.push(result)
    }
  } catch (err) {
    if (err instanceof ServiceError) throw err
    // EISDIR, EACCES and the like surface here, from the stream, not from access().
    throw new ServiceError('ReadingFileError', `cannot read results file ${path}: ${(err as Error).message}`, {
      cause: err,
    })
  } finally {
    input.destroy()
  }
  if (results.length === 0) throw new ServiceError('NoData', `results file ${path} holds no result`)
  return results
}
