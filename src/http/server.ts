/**
 * The operations HTTP server: /livez (process alive), /readyz (serving: lifecycle running and dependencies up),
 * /metrics (Prometheus text format). Later issues mount the MVAD REST API on the same server.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import type { Lifecycle } from '../lifecycle.js'
import { createHttpMetrics } from '../observability/http-metrics.js'
import { readSchemaText } from '../schema-files.js'
import { MVAD_SERVER_OPTIONS } from './mvad/routes.js'

export interface DependencyStatus {
  name: string
  up: boolean
  detail?: string
}

export interface OpsServerOptions {
  lifecycle: Lifecycle
  registry: Registry
  /** Latest dependency checks, as last recorded by the app (cheap: no I/O per request). */
  dependencies: () => readonly DependencyStatus[]
  /** Largest request body (the MVAD API's detect-last carries data). @defaultValue 1 MiB */
  bodyLimitBytes?: number
  /**
   * Believe X-Forwarded-Proto/-Host (behind a TLS-terminating proxy), so the links the API writes (Location,
   * Operation-Location, nextLink) carry the address clients used. @defaultValue false
   */
  trustProxy?: boolean
}

export function createOpsServer(options: OpsServerOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimitBytes ?? 1024 * 1024,
    trustProxy: options.trustProxy ?? false,
    ...MVAD_SERVER_OPTIONS,
  })

  // Root hooks apply to every route, the MVAD API's included (registered later on the same instance).
  const httpMetrics = createHttpMetrics(options.registry)
  app.addHook('onResponse', async (request, reply) => {
    httpMetrics.observe(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000)
  })

  app.get('/openapi.json', async (_request, reply) =>
    reply.header('content-type', 'application/json').send(readSchemaText('openapi/mvad-v1.1.json')),
  )

  app.get('/livez', async (_request, reply) => {
    const alive = options.lifecycle.isAlive
    return reply.code(alive ? 200 : 503).send({ status: alive ? 'ok' : 'failed', state: options.lifecycle.state })
  })

  app.get('/readyz', async (_request, reply) => {
    const dependencies = options.dependencies()
    const ready = options.lifecycle.isReady && dependencies.every((d) => d.up)
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not ready', state: options.lifecycle.state, dependencies })
  })

  app.get('/metrics', async (_request, reply) => {
    const body = await options.registry.metrics()
    return reply.header('content-type', options.registry.contentType).send(body)
  })

  return app
}
