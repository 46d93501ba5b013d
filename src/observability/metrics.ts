/**
 * The prom-client registry and the typed metrics object injected into components (pure code gets none).
 * Every metric is listed in docs/metrics.md; names follow Prometheus conventions (_total, _seconds).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { LIFECYCLE_STATES, type LifecycleState } from '../lifecycle.js'

export interface ServiceMetrics {
  readonly registry: Registry
  readonly lifecycleState: Gauge<'state'>
  readonly lifecycleTransitions: Counter<'to'>
  readonly dependencyUp: Gauge<'dependency'>
  readonly consumerRestarts: Counter<'consumer'>
  setLifecycleState(state: LifecycleState): void
}

export function createMetrics(options: {
  serviceName: string
  version: string
  collectDefaults?: boolean
}): ServiceMetrics {
  const registry = new Registry()
  registry.setDefaultLabels({ service: options.serviceName })
  if (options.collectDefaults ?? true) collectDefaultMetrics({ register: registry, prefix: 'mvad_' })

  const info = new Gauge({
    name: 'mvad_build_info',
    help: 'Build information; always 1.',
    labelNames: ['version', 'node'],
    registers: [registry],
  })
  info.set({ version: options.version, node: process.versions.node }, 1)

  const lifecycleState = new Gauge({
    name: 'mvad_lifecycle_state',
    help: 'Service lifecycle: 1 for the current state, 0 for the others.',
    labelNames: ['state'],
    registers: [registry],
  })
  const lifecycleTransitions = new Counter({
    name: 'mvad_lifecycle_transitions_total',
    help: 'Lifecycle state changes, by target state.',
    labelNames: ['to'],
    registers: [registry],
  })
  const dependencyUp = new Gauge({
    name: 'mvad_dependency_up',
    help: 'Whether the last check of an external dependency (kafka, redis, schema_registry) succeeded.',
    labelNames: ['dependency'],
    registers: [registry],
  })

  const consumerRestarts = new Counter({
    name: 'mvad_consumer_restarts_total',
    help: 'Kafka consumers restarted after kafkajs stopped them on an error it does not retry, by consumer (stream, control).',
    labelNames: ['consumer'],
    registers: [registry],
  })

  return {
    registry,
    lifecycleState,
    lifecycleTransitions,
    dependencyUp,
    consumerRestarts,
    setLifecycleState(state) {
      for (const s of LIFECYCLE_STATES) lifecycleState.set({ state: s }, s === state ? 1 : 0)
      lifecycleTransitions.inc({ to: state })
    },
  }
}
