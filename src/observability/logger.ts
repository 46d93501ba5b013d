/** The one pino root logger; components get children with their own context (component, entity, model). */
import { pino, type Logger, type DestinationStream } from 'pino'

export type { Logger }

export function createLogger(options: { serviceName: string; level: string }, destination?: DestinationStream): Logger {
  return pino(
    {
      name: options.serviceName,
      level: options.level,
      base: { service: options.serviceName, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  )
}
