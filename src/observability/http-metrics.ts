/**
 * Metrics of the HTTP server (ops endpoints and the MVAD REST API), listed in docs/metrics.md. Labelled by the
 * route's pattern (`/multivariate/models/:modelId`), never the raw path: one series per route, not per model id.
 */
import { Counter, Histogram, type Registry } from 'prom-client'

export interface HttpMetrics {
  /** Called once a response has been sent. `route` undefined: no route matched (a 404). */
  observe(method: string, route: string | undefined, statusCode: number, seconds: number): void
}

export function createHttpMetrics(registry: Registry): HttpMetrics {
  // A second server on the same registry (tests, a restart in process) shares the series instead of failing.
  const requests =
    (registry.getSingleMetric('mvad_http_requests_total') as Counter<'method' | 'route' | 'status_code'> | undefined) ??
    new Counter({
      name: 'mvad_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern (unmatched for a 404 without a route) and status code.',
      labelNames: ['method', 'route', 'status_code'],
      registers: [registry],
    })
  const duration =
    (registry.getSingleMetric('mvad_http_request_duration_seconds') as Histogram<'method' | 'route'> | undefined) ??
    new Histogram({
      name: 'mvad_http_request_duration_seconds',
      help: 'Time from a request’s arrival to its response being sent, by method and route pattern.',
      labelNames: ['method', 'route'],
      // Up to 30 s: MVAD's largest detect-last (38 MiB) takes over a second; a synchronous call is bounded by the
      // client's patience, not by us.
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    })
  return {
    observe(method, route, statusCode, seconds) {
      const routeLabel = route ?? 'unmatched'
      requests.inc({ method, route: routeLabel, status_code: String(statusCode) })
      duration.observe({ method, route: routeLabel }, seconds)
    },
  }
}
