import { afterEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createOpsServer, type DependencyStatus } from '../../../src/http/server.js'
import { Lifecycle } from '../../../src/lifecycle.js'
import { createMetrics } from '../../../src/observability/metrics.js'

describe('ops HTTP server', () => {
  let server: FastifyInstance | undefined
  afterEach(async () => {
    await server?.close()
  })

  function make(dependencies: DependencyStatus[]): { lifecycle: Lifecycle; server: FastifyInstance } {
    const lifecycle = new Lifecycle()
    const metrics = createMetrics({ serviceName: 'test', version: '0.0.0', collectDefaults: false })
    metrics.setLifecycleState(lifecycle.state)
    lifecycle.onTransition((_from, to) => metrics.setLifecycleState(to))
    server = createOpsServer({ lifecycle, registry: metrics.registry, dependencies: () => dependencies })
    return { lifecycle, server }
  }

  it('is live but not ready while starting, ready when running with dependencies up', async () => {
    const { lifecycle, server } = make([{ name: 'kafka', up: true }])
    expect((await server.inject('/livez')).statusCode).toBe(200)
    const starting = await server.inject('/readyz')
    expect(starting.statusCode).toBe(503)
    expect(starting.json()).toMatchObject({ state: 'starting', status: 'not ready' })
    lifecycle.moveTo('running')
    const running = await server.inject('/readyz')
    expect(running.statusCode).toBe(200)
    expect(running.json()).toMatchObject({ state: 'running', dependencies: [{ name: 'kafka', up: true }] })
    lifecycle.moveTo('draining')
    expect((await server.inject('/readyz')).statusCode).toBe(503)
  })

  it('is not ready when a dependency is down, and names it', async () => {
    const { lifecycle, server } = make([
      { name: 'kafka', up: true },
      { name: 'redis', up: false, detail: 'ECONNREFUSED' },
    ])
    lifecycle.moveTo('running')
    const response = await server.inject('/readyz')
    expect(response.statusCode).toBe(503)
    expect(response.body).toContain('ECONNREFUSED')
  })

  it('reports failed on /livez once the service failed', async () => {
    const { lifecycle, server } = make([])
    lifecycle.moveTo('failed', 'boom')
    expect((await server.inject('/livez')).statusCode).toBe(503)
  })

  it('serves Prometheus metrics including the lifecycle state', async () => {
    const { lifecycle, server } = make([])
    lifecycle.moveTo('running')
    const response = await server.inject('/metrics')
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toContain('text/plain')
    expect(response.body).toContain('mvad_lifecycle_state{state="running",service="test"} 1')
    expect(response.body).toContain('mvad_lifecycle_state{state="starting",service="test"} 0')
    expect(response.body).toContain('mvad_build_info')
  })

  it('counts requests and times them by route pattern, not by raw path, with 404s as unmatched', async () => {
    const { server } = make([])
    server.get('/things/:thingId', (_request, reply) => reply.send({ ok: true }))
    await server.inject('/things/a')
    await server.inject('/things/b')
    await server.inject('/livez')
    await server.inject('/no/such/path')
    const body = (await server.inject('/metrics')).body
    expect(body).toContain(
      'mvad_http_requests_total{method="GET",route="/things/:thingId",status_code="200",service="test"} 2',
    )
    expect(body).toContain('mvad_http_requests_total{method="GET",route="/livez",status_code="200",service="test"} 1')
    expect(body).toContain(
      'mvad_http_requests_total{method="GET",route="unmatched",status_code="404",service="test"} 1',
    )
    expect(body).not.toContain('/things/a')
    expect(body).toContain(
      'mvad_http_request_duration_seconds_count{service="test",method="GET",route="/things/:thingId"} 2',
    )
  })

  it('shares the HTTP series when a second server is made on the same registry', async () => {
    const lifecycle = new Lifecycle()
    const metrics = createMetrics({ serviceName: 'test', version: '0.0.0', collectDefaults: false })
    const first = createOpsServer({ lifecycle, registry: metrics.registry, dependencies: () => [] })
    const second = createOpsServer({ lifecycle, registry: metrics.registry, dependencies: () => [] })
    try {
      await first.inject('/livez')
      await second.inject('/livez')
      expect((await second.inject('/metrics')).body).toContain(
        'mvad_http_requests_total{method="GET",route="/livez",status_code="200",service="test"} 2',
      )
    } finally {
      await first.close()
      await second.close()
    }
  })
})
