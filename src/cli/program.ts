/** The `mvad` command line: flag definitions only; each command lives in ./commands. */
import { jobsListCommand, jobsShowCommand, submitCommand, watchCommand } from './commands/jobs.js'
import { Command, Help, Option } from 'commander'
import { chartCommand } from './commands/chart.js'
import type { CliContext } from './commands/context.js'
import { detectCommand } from './commands/detect.js'
import { evaluateCommand } from './commands/evaluate.js'
import { bindCommand, modelListCommand, modelUploadCommand } from './commands/registry.js'
import { deadLettersCommand, eventsCommand, simulateCommand } from './commands/stream-tools.js'
import { trainCommand } from './commands/train.js'
import { tuneCommand } from './commands/tune.js'
import { EXIT, UsageError, reportError, type ExitCode } from './exit.js'
import {
  collectParam,
  intInRange,
  parseAlignMode,
  parseFillNAMethod,
  parseNumber,
  parseSlidingWindow,
  parseJobStatus,
  parseTimestampOption,
  parseTopContributors,
} from './options.js'
import { packageVersion } from '../package-version.js'

const alignOptions = (cmd: Command): Command =>
  cmd
    .addOption(new Option('--align-mode <mode>', 'Inner | Outer (default Outer)').argParser(parseAlignMode))
    .addOption(
      new Option(
        '--fill-na-method <method>',
        'Previous | Subsequent | Linear | Zero | Fixed (default Linear)',
      ).argParser(parseFillNAMethod),
    )
    .addOption(new Option('--padding-value <n>', 'fill value when --fill-na-method Fixed').argParser(parseNumber))

const rangeOptions = (cmd: Command, what: string): Command =>
  cmd
    .addOption(
      new Option('--start-time <iso>', `first timestamp to ${what} (inclusive)`).argParser(parseTimestampOption),
    )
    .addOption(new Option('--end-time <iso>', `last timestamp to ${what} (inclusive)`).argParser(parseTimestampOption))

/** `-` reads standard input, as shell tools do (the commands read the device as a file). */
const inputPath = (value: string): string => (value === '-' ? STDIN : value)
/** `-` writes standard output. */
const outputPath = (value: string): string => (value === '-' ? '/dev/stdout' : value)
const STDIN = '/dev/stdin'

/** `--param name=value`, repeatable (train, tune): any model parameter of docs/model.md but slidingWindow. */
const modelParamOption = (): Option =>
  new Option(
    '--param <name=value>',
    'model parameter, repeatable (e.g. --param noveltyHold=1 --param riskLevel=0.01; names in docs/model.md)',
  ).argParser(collectParam)

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('mvad')
    .description('Multivariate anomaly detection (Azure MVAD compatible): train, detect, evaluate, tune, chart')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) })
    .exitOverride()
    // Commander lists required options like the others; a user reading `mvad train --help` should see which they are.
    .configureHelp({
      optionDescription(this: Help, option: Option): string {
        const text = Help.prototype.optionDescription.call(this, option)
        return option.mandatory ? `(required) ${text}` : text
      },
    })
    .version(packageVersion(), '-V, --version', 'print the version')
    // The program's options only before a command: `mvad bind --version 3` pins version 3 (without this, commander
    // took it for the program's --version, printed the version and bound nothing).
    .enablePositionalOptions()
    // Standard input can be read once: a second `-` would find it empty and blame the data.
    .hook('preAction', (_program, command) => {
      const readers = command.options.filter((option) => command.getOptionValue(option.attributeName()) === STDIN)
      if (readers.length > 1) {
        throw new UsageError(`only one option can read standard input (-): ${readers.map((o) => o.long).join(', ')}`)
      }
    })

  const train = program
    .command('train')
    .description('train a model from a OneTable CSV or a MultiTable folder')
    .requiredOption(
      '--input <csv|folder>',
      'training data: OneTable CSV file, or folder of <variable>.csv files (- for stdin)',
      inputPath,
    )
    .requiredOption('--out <model.json>', 'where to write the model (- for stdout)', outputPath)
    .addOption(
      new Option('--sliding-window <n>', 'rows per window, 28–2880 (default 300)').argParser(parseSlidingWindow),
    )
    .addOption(modelParamOption())
  rangeOptions(alignOptions(train), 'train on').action((opts: Parameters<typeof trainCommand>[0]) =>
    trainCommand(opts, ctx),
  )

  rangeOptions(
    program
      .command('detect')
      .description('score data with a trained model; writes one MVAD result per line')
      .requiredOption('--model <model.json>', 'model written by `mvad train`', inputPath)
      .requiredOption('--input <csv|folder>', 'data with exactly the training variables (- for stdin)', inputPath)
      .requiredOption('--out <results.jsonl>', 'where to write the results (- for stdout)', outputPath)
      .addOption(
        new Option('--top-contributors <n>', 'contributors per anomaly, 1–30 (default 10)').argParser(
          parseTopContributors,
        ),
      ),
    'report',
  ).action((opts: Parameters<typeof detectCommand>[0]) => detectCommand(opts, ctx))

  program
    .command('evaluate')
    .description('compare results with labels: bestF1, aucPR, F1, paF1, HitRate')
    .requiredOption('--results <results.jsonl>', 'output of `mvad detect` (- for stdin)', inputPath)
    .requiredOption('--labels <labels.csv>', 'timestamp,label (1 = anomalous)', inputPath)
    .option('--interpretation <interpretation.csv>', 'start,end,variables (;-separated) for HitRate', inputPath)
    .option('--json', 'print JSON instead of a table')
    .action((opts: Parameters<typeof evaluateCommand>[0]) => evaluateCommand(opts, ctx))

  alignOptions(
    program
      .command('tune')
      .description('train on --train, pick parameters that score best on --validation against --labels')
      .requiredOption('--train <train.csv>', 'training data (OneTable CSV or MultiTable folder)', inputPath)
      .requiredOption('--validation <test.csv>', 'validation data continuing the training data', inputPath)
      .requiredOption('--labels <labels.csv>', 'labels of the validation rows', inputPath)
      .requiredOption('--out <model.json>', 'where to write the tuned model (- for stdout)', outputPath)
      .addOption(
        new Option('--sliding-window <n>', 'rows per window, 28–2880 (default 300)').argParser(parseSlidingWindow),
      )
      .addOption(modelParamOption()),
  ).action((opts: Parameters<typeof tuneCommand>[0]) => tuneCommand(opts, ctx))

  program
    .command('chart')
    .description('draw scores, anomalies and labels to .svg or .png')
    .requiredOption('--results <results.jsonl>', 'output of `mvad detect` (- for stdin)', inputPath)
    .option('--labels <labels.csv>', 'ground truth to shade', inputPath)
    .requiredOption('--out <chart.svg|chart.png>', 'output file; the extension picks the format')
    .addOption(new Option('--threshold <n>', 'draw this score threshold').argParser(parseNumber))
    .addOption(new Option('--width <px>', 'image width (default 1200)').argParser(intInRange(200, 20_000)))
    .addOption(new Option('--height <px>', 'image height (default 420)').argParser(intInRange(150, 10_000)))
    .option('--title <text>', 'chart title')
    .action((opts: Parameters<typeof chartCommand>[0]) => chartCommand(opts, ctx))

  const model = program
    .command('model')
    .description("the service's model store (Redis: REDIS_URL, MVAD_REDIS_KEY_PREFIX)")
  model
    .command('upload')
    .description('store a model file from `mvad train` as a new READY version')
    .requiredOption('--model <model.json>', 'model written by `mvad train` (- for stdin)', inputPath)
    .requiredOption('--name <modelId>', 'model id (letters, digits, . _ -); uploads add versions 1, 2, …')
    .option('--display-name <text>', 'free text shown in listings')
    .action((opts: Parameters<typeof modelUploadCommand>[0]) => modelUploadCommand(opts, ctx, ctx.env ?? process.env))
  model
    .command('list')
    .description('list models and their versions')
    .action(() => modelListCommand(ctx, ctx.env ?? process.env))

  program
    .command('bind')
    .description('make a model score an entity (takes effect in running services without a restart)')
    .requiredOption('--entity <id>', 'entity = the Kafka message key of its readings')
    .requiredOption('--model <modelId>', 'model id')
    .addOption(new Option('--version <n>', 'pin a version (default: latest READY)').argParser(intInRange(1, 1_000_000)))
    .action((opts: Parameters<typeof bindCommand>[0]) => bindCommand(opts, ctx, ctx.env ?? process.env))

  program
    .command('simulate')
    .description('stream a CSV to the readings topic as per-variable readings (KAFKA_BROKERS, MVAD_TOPIC_READINGS)')
    .requiredOption('--input <csv|folder>', 'OneTable CSV or MultiTable folder (- for stdin)', inputPath)
    .requiredOption('--entity <id>', 'message key of the readings')
    .addOption(
      new Option('--rate <rows/s>', 'rows per second (default: as fast as possible)').argParser(
        intInRange(1, 10_000_000),
      ),
    )
    .option('--frames', 'one message per row ({timestamp, values}) instead of one per variable')
    .action((opts: Parameters<typeof simulateCommand>[0]) => simulateCommand(opts, ctx, ctx.env ?? process.env))

  program
    .command('events')
    .description('print anomaly events as they arrive (KAFKA_BROKERS, MVAD_TOPIC_EVENTS)')
    .option('--from-beginning', 'start at the oldest event')
    .addOption(new Option('--max <n>', 'stop after n events').argParser(intInRange(1, 1_000_000_000)))
    .addOption(new Option('--idle <seconds>', 'stop after this long without an event').argParser(intInRange(1, 86_400)))
    .action((opts: Parameters<typeof eventsCommand>[0]) => eventsCommand(opts, ctx, ctx.env ?? process.env))

  program
    .command('dead-letters')
    .description('print dead letters (KAFKA_BROKERS, MVAD_TOPIC_DLQ) as JSON lines: reason, detail, source, key, value')
    .option('--from-beginning', 'start at the oldest dead letter')
    .addOption(new Option('--max <n>', 'stop after n dead letters').argParser(intInRange(1, 1_000_000_000)))
    .addOption(
      new Option('--idle <seconds>', 'stop after this long without a dead letter').argParser(intInRange(1, 86_400)),
    )
    .action((opts: Parameters<typeof deadLettersCommand>[0]) => deadLettersCommand(opts, ctx, ctx.env ?? process.env))

  program
    .command('submit')
    .description('send a control command (train, detect-batch, deploy, delete-model, cancel) to MVAD_TOPIC_CONTROL')
    .option(
      '--file <command.json>',
      'the command as a JSON file (schemas/json/control-command.v1.json; - for stdin)',
      inputPath,
    )
    .option('--json <text>', 'the command as JSON text')
    .option('--wait', 'follow the job until it is READY or FAILED (exit 3 when FAILED)')
    .addOption(
      new Option('--timeout <seconds>', 'give up waiting after this long (default 3600)').argParser(
        intInRange(1, 86_400),
      ),
    )
    .action((opts: Parameters<typeof submitCommand>[0]) => submitCommand(opts, ctx, ctx.env ?? process.env))

  const jobs = program.command('jobs').description("the service's jobs (Redis: REDIS_URL, MVAD_REDIS_KEY_PREFIX)")
  jobs
    .command('list')
    .description('newest jobs first')
    .addOption(
      new Option(
        '--status <status>',
        'only jobs in this status: CREATED, RUNNING, READY or FAILED (any case)',
      ).argParser(parseJobStatus),
    )
    .addOption(new Option('--limit <n>', 'at most n jobs (default 50)').argParser(intInRange(1, 10_000)))
    .action((opts: Parameters<typeof jobsListCommand>[0]) => jobsListCommand(opts, ctx, ctx.env ?? process.env))
  jobs
    .command('show')
    .description('one job as JSON (command, status, progress, result, errors)')
    .argument('<jobId>')
    .action((jobId: string) => jobsShowCommand({ jobId }, ctx, ctx.env ?? process.env))
  jobs
    .command('watch')
    .description('follow a job with a progress bar until it is READY or FAILED (exit 3 when FAILED)')
    .argument('<jobId>')
    .addOption(
      new Option('--timeout <seconds>', 'give up after this long (default 3600)').argParser(intInRange(1, 86_400)),
    )
    .action((jobId: string, opts: { timeout?: number }) =>
      watchCommand({ jobId, ...opts }, ctx, ctx.env ?? process.env),
    )

  return program
}

/** Flags that may be given more than once. */
const REPEATABLE_FLAGS: ReadonlySet<string> = new Set(['--param'])

/**
 * The first flag given twice (`--input a.csv --input b.csv`): commander keeps the last silently, so the run would use
 * a file the user may not have meant. Words after `--` are arguments, not flags. (A value that itself begins with `--`
 * would count as a flag here; no option of this CLI takes one.)
 */
function repeatedFlag(argv: readonly string[]): string | undefined {
  const seen = new Set<string>()
  for (const word of argv) {
    if (word === '--') return undefined
    if (!word.startsWith('--')) continue
    const flag = word.split('=', 1)[0] as string
    if (REPEATABLE_FLAGS.has(flag)) continue
    if (seen.has(flag)) return flag
    seen.add(flag)
  }
  return undefined
}

/** Runs the CLI on `argv` (without `node` and the script) and returns the exit code. */
export async function run(argv: readonly string[], ctx: CliContext): Promise<ExitCode> {
  try {
    const repeated = repeatedFlag(argv)
    if (repeated !== undefined) throw new UsageError(`${repeated} is given more than once; give it once`)
    await buildProgram(ctx).parseAsync([...argv], { from: 'user' })
    return EXIT.ok
  } catch (err) {
    return reportError(err, ctx.stderr)
  }
}
