/** CLI file I/O: results JSONL in/out, ground-truth files, model files. */
import { createReadStream, createWriteStream } from 'node:fs'
import { access, readFile, writeFile } from 'node:fs/promises'
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

export async function readResultsJsonl(path: string): Promise<AnomalyState[]> {
  try {
    await access(path)
  } catch (err) {
    throw new ServiceError('FileNotExist', `results file ${path} does not exist or cannot be read`, { cause: err })
  }
  const results: AnomalyState[] = []
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity })
  let n = 0
  for await (const line of lines) {
    n++
    if (line.trim() === '') continue
    results.push(parseWireAnomalyState(line, path, n))
  }
  return results
}
