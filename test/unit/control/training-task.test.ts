import { mkdtempSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packReadings } from '../../../src/control/readings-series.js'
import { runTrainTask } from '../../../src/control/training-task.js'
import { DEFAULT_ALIGN_POLICY } from '../../../src/domain/types.js'
import { loadCoreModel } from '../../../src/stream/core-model-loader.js'

const TRAIN = new URL('../../fixtures/cli/train.csv', import.meta.url).pathname

describe('runTrainTask (the worker-thread part of a train job)', () => {
  it('reads the file itself, reports ordered progress, and returns a model file the stream can load', async () => {
    const stages: [number, string][] = []
    const dir = mkdtempSync(join(tmpdir(), 'mvad-train-task-'))
    const outcome = await runTrainTask(
      {
        input: { kind: 'file', path: TRAIN },
        alignPolicy: DEFAULT_ALIGN_POLICY,
        params: { slidingWindow: 50 },
        charts: { dir, name: 'training', title: 'Training' },
      },
      (fraction, stage) => stages.push([fraction, stage]),
    )
    const fractions = stages.map(([f]) => f)
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b))
    expect(fractions[0]).toBeGreaterThanOrEqual(0)
    expect(fractions.at(-1)).toBeLessThanOrEqual(1)
    expect(outcome.rows).toBe(400)
    expect(outcome.variableStates.map((v) => v.variable)).toEqual(outcome.variables)
    const model = loadCoreModel(outcome.modelFileJson, { modelId: 'm', version: 1 })
    expect(model.variables).toEqual(outcome.variables)
    expect(model.slidingWindow).toBe(50)
    expect(outcome.charts?.map((c) => existsSync(c))).toEqual([true, true])
  })

  it('answers bad input with MVAD codes: unknown variables, too few rows', async () => {
    const task = (over: object) => ({
      input: { kind: 'file' as const, path: TRAIN },
      alignPolicy: DEFAULT_ALIGN_POLICY,
      params: { slidingWindow: 50 },
      ...over,
    })
    await expect(
      runTrainTask(task({ input: { kind: 'file', path: TRAIN, variables: ['nope'] } }), () => undefined),
    ).rejects.toMatchObject({ code: 'ColumnNotFound' })
    await expect(runTrainTask(task({ params: { slidingWindow: 2000 } }), () => undefined)).rejects.toMatchObject({
      code: 'NotEnoughInput',
    })
  })
})

describe('runTrainTask from a readings topic', () => {
  // 300 timestamps of a, b, and one stray reading of 'zzz' (say a misspelt variable the stream dead-lettered).
  const T0 = Date.UTC(2024, 0, 1)
  const readings = Array.from({ length: 300 }, (_, t) =>
    ['a', 'b'].map((variable, j) => ({
      variable,
      timestamp: T0 + t * 60_000,
      value: Math.sin(t / 7 + j) + 0.01 * ((t * 7919) % 13),
      offset: BigInt(2 * t + j),
      partition: 0,
    })),
  ).flat()
  readings.push({ variable: 'zzz', timestamp: T0 + 5 * 60_000, value: 1, offset: 9_999n, partition: 0 })
  const task = (variables?: string[]) => ({
    input: {
      kind: 'topic' as const,
      read: { readings: packReadings(readings), rejected: [], dataSource: 'kafka://readings/e1' },
      ...(variables === undefined ? {} : { variables }),
    },
    alignPolicy: DEFAULT_ALIGN_POLICY,
    params: { slidingWindow: 50 },
  })

  it('refuses a stray variable (values in under 10 % of the timestamps) unless the command lists the variables', async () => {
    await expect(runTrainTask(task(), () => undefined)).rejects.toMatchObject({
      code: 'NoData',
      message: expect.stringContaining("fewer than 10 % of the 300 timestamps: 'zzz' (1)") as string,
    })
    const outcome = await runTrainTask(task(['a', 'b']), () => undefined)
    expect(outcome.variables).toEqual(['a', 'b'])
  })
})
