#!/usr/bin/env node
/**
 * Process entry point: the service's only reader of process.env (the CLI reads it in cli/program.ts) and installer of signal handlers.
 * Exit codes: 0 clean stop, 1 failed at run time, 2 invalid configuration.
 */
import { createApp } from './app.js'
import { loadConfig, type Config } from './config/config.js'
import { unknownSettings } from './config/unknown-settings.js'
import { isServiceError } from './errors.js'
import { createLogger } from './observability/logger.js'
import { createMetrics } from './observability/metrics.js'
import { packageVersion } from './package-version.js'
import { routeProcessWarnings } from './observability/process-warnings.js'
import { loadCoreModel } from './stream/core-model-loader.js'

async function main(): Promise<number> {
  let config: Config
  try {
    config = loadConfig(process.env)
  } catch (error) {
    process.stderr.write(`mvad-stream: ${error instanceof Error ? error.message : String(error)}\n`)
    return 2
  }
  const logger = createLogger({ serviceName: config.serviceName, level: config.logLevel })
  for (const { name, closest } of unknownSettings(process.env)) {
    logger.warn(
      { variable: name, ...(closest === undefined ? {} : { closest }) },
      `${name} is not a setting of the service${closest === undefined ? '' : ` (did you mean ${closest}?)`}; it is ignored`,
    )
  }
  routeProcessWarnings(logger, process)
  const metrics = createMetrics({ serviceName: config.serviceName, version: packageVersion() })
  let app: ReturnType<typeof createApp>
  try {
    app = createApp({ config, logger, metrics, loadModel: loadCoreModel })
  } catch (error) {
    // An unreadable TLS file (KAFKA_SSL_CA_FILE, …) is a configuration problem like the others.
    if (!isServiceError(error) || error.code !== 'ConfigInvalid') throw error
    process.stderr.write(`mvad-stream: ${error.message}\n`)
    return 2
  }

  let exitCode = 0
  let shuttingDown = false
  /** Bounds a stop by MVAD_SHUTDOWN_GRACE_MS. */
  const exitIfStopHangs = (): void => {
    const force = setTimeout(() => {
      logger.error({ graceMs: config.shutdownGraceMs }, 'graceful shutdown took too long; exiting')
      process.exit(1)
    }, config.shutdownGraceMs)
    force.unref()
  }
  const shutdown = (signal: string, code?: number): void => {
    if (code !== undefined) exitCode = code
    // A repeated signal (a wrapper forwarding Ctrl-C, a second SIGTERM) must not kill the drain half-way: the first
    // one's grace timer bounds the stop.
    if (shuttingDown) {
      logger.warn({ signal }, 'shutdown already in progress; signal ignored')
      return
    }
    shuttingDown = true
    logger.info({ signal }, 'shutdown requested')
    exitIfStopHangs()
    app.stop(signal).then(
      () => process.exit(exitCode),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
  // A stray error is logged as a fatal record and the service drains (leaves its group, commits) before exiting 1.
  process.on('unhandledRejection', (reason: unknown) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection')
    shutdown('unhandledRejection', 1)
  })
  process.on('uncaughtException', (error: Error) => {
    logger.fatal({ err: error }, 'uncaught exception')
    shutdown('uncaughtException', 1)
  })

  try {
    await app.start()
    if (!shuttingDown) logger.info({ url: app.url() }, 'mvad-stream running')
  } catch (error) {
    exitCode = 1
    logger.error({ err: error, code: isServiceError(error) ? error.code : undefined }, 'start-up failed')
    exitIfStopHangs()
    await app.stop('start-up failed')
    return 1
  }
  return new Promise<number>(() => undefined) // runs until a signal
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`mvad-stream: unexpected error: ${String(error)}\n`)
    process.exit(1)
  },
)
