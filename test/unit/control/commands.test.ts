import { describe, expect, it } from 'vitest'
import { parseJsonCommand, validateControlCommand } from '../../../src/control/commands.js'

const train = {
  type: 'train',
  jobId: 'job-1',
  modelId: 'pump-model',
  source: { kind: 'file', path: '/data/train.csv' },
  slidingWindow: 200,
  alignPolicy: { alignMode: 'Outer', fillNAMethod: 'Linear' },
  params: { lags: 2 },
}

describe('control commands', () => {
  it('accepts each command type as the schema describes it', () => {
    const commands = [
      train,
      { ...train, source: { kind: 'topic', entity: 'pump-1', fromTime: '2024-01-01T00:00:00Z' } },
      { ...train, source: { kind: 'window', entity: 'pump-1' } },
      {
        type: 'detect-batch',
        jobId: 'j2',
        modelId: 'm',
        version: 2,
        source: { kind: 'file', path: 'x.csv' },
        startTime: '2024-01-01T00:00:00Z',
        endTime: '2024-01-02T00:00:00Z',
        output: { topic: 'results', store: true },
        options: { miniBatchSize: 500, retryCount: 2, errorThreshold: -1 },
      },
      { type: 'deploy', jobId: 'j3', modelId: 'm', entities: ['a', 'b'], mode: 'shadow' },
      { type: 'delete-model', jobId: 'j4', modelId: 'm' },
      { type: 'cancel', jobId: 'j5', targetJobId: 'j2' },
    ]
    for (const command of commands) expect(validateControlCommand(command)).toEqual({ ok: true, command })
  })

  it('says what is wrong, with the path, for each kind of bad command', () => {
    expect(parseJsonCommand('{not json')).toMatchObject({ ok: false, reason: 'malformed_json' })
    expect(parseJsonCommand('[1]')).toMatchObject({ ok: false, reason: 'invalid_command' })
    expect(parseJsonCommand('{"type":"explode","jobId":"j"}')).toMatchObject({
      ok: false,
      reason: 'unknown_type',
      detail: expect.stringContaining('train, detect-batch, deploy, delete-model, cancel') as unknown,
    })
    const missing = validateControlCommand({ type: 'train', jobId: 'j' })
    expect(missing).toMatchObject({ ok: false, reason: 'invalid_command' })
    expect(!missing.ok && missing.detail).toMatch(/must have required property 'modelId'/)
    const extra = validateControlCommand({ ...train, colour: 'red' })
    expect(!extra.ok && extra.detail).toMatch(/must NOT have additional properties 'colour'/)
    const badTime = validateControlCommand({
      type: 'detect-batch',
      jobId: 'j',
      modelId: 'm',
      source: { kind: 'file', path: 'x' },
      startTime: 'yesterday',
      endTime: '2024-01-01T00:00:00Z',
    })
    expect(!badTime.ok && badTime.detail).toMatch(/\/startTime must match format "date-time"/)
    const badId = validateControlCommand({ type: 'delete-model', jobId: 'has space', modelId: 'm' })
    expect(!badId.ok && badId.detail).toMatch(/\/jobId must match pattern/)
    const badMode = validateControlCommand({ type: 'deploy', jobId: 'j', modelId: 'm', entities: ['a'], mode: 'x' })
    expect(!badMode.ok && badMode.detail).toMatch(/\/mode must be equal to one of the allowed values/)
  })
})
