/**
 * `mvad submit` sends a control command (validated here first, so a typo fails fast instead of dead-lettering) to
 * the control topic; `mvad jobs list|show|watch` follow jobs in the service's job store (Redis), `watch` with a
 * progress bar on a terminal and one line per change otherwise. Exit code of `watch` / `submit --wait`: 0 when the
 * job ends READY, 3 when it ends FAILED (its error printed).
 */
import { readFile } from 'node:fs/promises'
import cliProgress from 'cli-progress'
import type { RawEnv } from '../../config/config.js'
import { parseJsonCommand, sameCommand, type ControlCommand } from '../../control/commands.js'
import { ServiceError } from '../../errors.js'
import type { JobRecord, JobStatus } from '../../state/job-store.js'
import { JobFailed, UsageError } from '../exit.js'
import { cliKafka, producerFor } from '../kafka-access.js'
import type { CliContext } from './context.js'
import { withStores } from './registry.js'

export interface SubmitOptions {
  file?: string
  json?: string
  wait?: boolean
  timeout?: number
}

export async function submitCommand(opts: SubmitOptions, ctx: CliContext, env: RawEnv): Promise<void> {
  if ((opts.file === undefined) === (opts.json === undefined))
    throw new UsageError('give exactly one of --file or --json')
  const text =
    opts.json ??
    (await readFile(opts.file as string, 'utf8').catch((e: unknown) => {
      throw new ServiceError('FileNotExist', `cannot read ${opts.file}: ${String(e)}`)
    }))
  const parsed = parseJsonCommand(text)
  if (!parsed.ok)
    throw new ServiceError('InvalidJsonFormat', `the command is not valid (${parsed.reason}): ${parsed.detail}`)
  const access = cliKafka(env, 'mvad-submit')
  const { config } = access
  const producer = await producerFor(access, config.kafka.topics.control, 'MVAD_TOPIC_CONTROL')
  try {
    await producer.send({
      topic: config.kafka.topics.control,
      acks: -1,
      messages: [{ key: parsed.command.jobId, value: JSON.stringify(parsed.command) }],
    })
  } finally {
    await producer.disconnect()
  }
  ctx.stdout.write(`submitted ${parsed.command.type} job ${parsed.command.jobId} to ${config.kafka.topics.control}\n`)
  if (opts.wait === true)
    await watchCommand(
      {
        jobId: parsed.command.jobId,
        expected: parsed.command,
        ...(opts.timeout === undefined ? {} : { timeout: opts.timeout }),
      },
      ctx,
      env,
    )
}

function line(job: JobRecord): string {
  const error = job.errors[0] === undefined ? '' : `  ${job.errors[0].code}: ${job.errors[0].message}`
  return `${job.jobId}  ${job.type}  ${job.status}  ${job.progress}%  ${job.lastUpdatedTime}${error}`
}

export async function jobsListCommand(
  opts: { status?: JobStatus; limit?: number },
  ctx: CliContext,
  env: RawEnv,
): Promise<void> {
  const jobs = await withStores(env, (s) =>
    s.jobs.list({ ...(opts.status === undefined ? {} : { status: opts.status }), limit: opts.limit ?? 50 }),
  )
  if (jobs.length === 0) ctx.stdout.write('no jobs\n')
  for (const job of jobs) ctx.stdout.write(`${line(job)}\n`)
}

export async function jobsShowCommand(opts: { jobId: string }, ctx: CliContext, env: RawEnv): Promise<void> {
  const job = await withStores(env, (s) => s.jobs.get(opts.jobId))
  if (job === undefined) throw new ServiceError('JobNotFound', `job ${opts.jobId} does not exist`)
  ctx.stdout.write(`${JSON.stringify(job, null, 2)}\n`)
}

export async function watchCommand(
  /** `expected`: the command just sent (submit --wait); a job made by another command under its jobId is an error. */
  opts: { jobId: string; timeout?: number; expected?: ControlCommand },
  ctx: CliContext,
  env: RawEnv,
): Promise<void> {
  const deadline = Date.now() + (opts.timeout ?? 3600) * 1000
  const stream = ctx.stderr as NodeJS.WriteStream
  const bar = stream.isTTY
    ? new cliProgress.SingleBar(
        { stream, format: `${opts.jobId} [{bar}] {percentage}% | {status}`, hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined
  bar?.start(100, 0, { status: 'waiting' })
  let last = ''
  const final = await withStores(env, async ({ jobs }) => {
    for (;;) {
      const job = await jobs.get(opts.jobId)
      if (job !== undefined && opts.expected !== undefined && !sameCommand(job.command, opts.expected)) {
        throw new ServiceError(
          'InvalidRequestParameterError',
          `job ${opts.jobId} is a ${job.type} job made by another command (created ${job.createdTime}); the service refused this one (dead-lettered job_id_conflict): give it a new jobId`,
        )
      }
      if (job !== undefined) {
        bar?.update(job.progress, { status: job.status })
        const summary = `${job.status} ${job.progress}%`
        if (bar === undefined && summary !== last) ctx.stderr.write(`${line(job)}\n`)
        last = summary
        if (job.status === 'READY' || job.status === 'FAILED') return job
      }
      if (Date.now() > deadline) {
        if (job === undefined)
          throw new ServiceError(
            'JobNotFound',
            `job ${opts.jobId} did not appear in ${opts.timeout ?? 3600} s: check the jobId, and that the service ` +
              'runs and consumes the control topic (MVAD_TOPIC_CONTROL)',
          )
        throw new ServiceError(
          'InfrastructureUnavailable',
          `job ${opts.jobId} did not finish in ${opts.timeout ?? 3600} s (last: ${last})`,
        )
      }
      await new Promise((resolve) => setTimeout(resolve, 300))
    }
  }).finally(() => bar?.stop())
  ctx.stdout.write(
    `${JSON.stringify({ jobId: final.jobId, status: final.status, result: final.result, errors: final.errors })}\n`,
  )
  const error = final.errors[0]
  if (final.status === 'FAILED')
    throw new JobFailed(
      error?.code ?? 'UnexpectedError',
      `job ${final.jobId} failed: ${error?.message ?? 'no reason recorded'}`,
    )
}
