/**
 * The settings shipped in k8s/ and docker-compose.yml go through the loader the service runs, so a manifest cannot
 * drift into a configuration the service refuses at start (or into one whose pieces disagree: ports, grace periods,
 * image tags).
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'
import { loadConfig } from '../../../src/config/config.js'
import { unknownSettings } from '../../../src/config/unknown-settings.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const read = (path: string): string => readFileSync(`${ROOT}${path}`, 'utf8')
const yamlOf = <T>(path: string): T => parse(read(path)) as T

interface Container {
  image: string
  ports: { name: string; containerPort: number }[]
  livenessProbe: { httpGet: { path: string } }
  readinessProbe: { httpGet: { path: string } }
  lifecycle: { preStop: { exec: { command: string[] } } }
}
interface Deployment {
  spec: {
    template: {
      metadata: { annotations: Record<string, string> }
      spec: {
        terminationGracePeriodSeconds: number
        containers: Container[]
        volumes: { name: string; emptyDir?: { sizeLimit: string } }[]
      }
    }
  }
}

const configMap = yamlOf<{ data: Record<string, string> }>('k8s/configmap.yaml').data
const secretExample = yamlOf<{ stringData: Record<string, string> }>('k8s/secret.example.yaml').stringData

describe('shipped deployment settings', () => {
  it('the ConfigMap is a configuration the service takes, with no misspelt variable', () => {
    const config = loadConfig(configMap)
    expect(unknownSettings(configMap)).toEqual([])
    expect(config.stream.newTopics.replicationFactor).toBe(3)
  })

  it('the example Secret is refused only for its placeholder API key', () => {
    expect(() => loadConfig({ ...configMap, ...secretExample })).toThrow(
      /^Invalid configuration \(1\):\n {2}MVAD_API_KEY: is the example placeholder/,
    )
    const filledIn = { ...configMap, ...secretExample, MVAD_API_KEY: 'a'.repeat(32) }
    expect(loadConfig(filledIn).kafka.sasl?.mechanism).toBe('scram-sha-512')
  })

  it('the Deployment agrees with the config: port, probes, grace period, image tag', () => {
    const config = loadConfig(configMap)
    const pod = yamlOf<Deployment>('k8s/deployment.yaml').spec.template
    const container = pod.spec.containers[0] as Container
    expect(container.ports).toEqual([{ name: 'http', containerPort: config.http.port }])
    expect(pod.metadata.annotations['prometheus.io/port']).toBe(String(config.http.port))
    expect([container.livenessProbe.httpGet.path, container.readinessProbe.httpGet.path]).toEqual(['/livez', '/readyz'])
    // SIGTERM comes after the preStop wait; the drain (MVAD_SHUTDOWN_GRACE_MS) must end before the kill.
    const preStopMs = Number(container.lifecycle.preStop.exec.command[1]) * 1000
    expect(pod.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(preStopMs + config.shutdownGraceMs)
    // Each request whose data is held may keep a download and, for a zip, its unpacked copy in the scratch volume:
    // an overflow gets the pod evicted, its stream partitions with it.
    const sizeLimit = pod.spec.volumes.find((v) => v.name === 'mvad-data')?.emptyDir?.sizeLimit ?? ''
    expect(sizeLimit).toMatch(/^\d+Gi$/)
    expect(config.rest.maxHeldDownloads * 2 * config.rest.fetchMaxBytes).toBeLessThan(
      Number.parseInt(sizeLimit, 10) * 1024 ** 3,
    )
    const version = (JSON.parse(read('package.json')) as { version: string }).version
    expect(container.image).toBe(`mvad-stream:${version}`)
    const kustomization = yamlOf<{ images: { name: string; newTag: string }[] }>('k8s/kustomization.yaml')
    expect(kustomization.images).toEqual([expect.objectContaining({ name: 'mvad-stream', newTag: version })])
  })

  it('every k8s file parses, and the compose service’s environment is a configuration the service takes', () => {
    for (const file of [
      'configmap',
      'deployment',
      'kustomization',
      'pdb',
      'prometheus-rules',
      'secret.example',
      'service',
      'servicemonitor',
    ]) {
      for (const document of parseAllDocuments(read(`k8s/${file}.yaml`))) expect(document.errors).toEqual([])
    }
    const compose = yamlOf<{ services: Record<string, { environment?: Record<string, string> }> }>('docker-compose.yml')
    const service = Object.values(compose.services).find((s) => s.environment?.KAFKA_BROKERS !== undefined)
    expect(service).toBeDefined()
    expect(loadConfig(service?.environment ?? {}).kafka.brokers).toEqual(['kafka:29092'])
  })

  it('the ServiceMonitor selects the Service and scrapes its port at /metrics', () => {
    const service = yamlOf<{
      metadata: { labels: Record<string, string> }
      spec: { ports: { name: string }[] }
    }>('k8s/service.yaml')
    const monitor = yamlOf<{
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] }
    }>('k8s/servicemonitor.yaml')
    expect(Object.keys(monitor.spec.selector.matchLabels)).not.toEqual([])
    expect(monitor.spec.endpoints).not.toEqual([])
    for (const [label, value] of Object.entries(monitor.spec.selector.matchLabels))
      expect(service.metadata.labels[label], label).toBe(value)
    for (const endpoint of monitor.spec.endpoints) {
      expect(service.spec.ports.map((p) => p.name)).toContain(endpoint.port)
      expect(endpoint.path).toBe('/metrics')
    }
  })

  it('the alert rules use only metrics the service documents (and so registers: metrics-docs.test.ts)', () => {
    const rules = yamlOf<{ spec: { groups: { rules: { alert: string; expr: string }[] }[] } }>(
      'k8s/prometheus-rules.yaml',
    ).spec.groups.flatMap((g) => g.rules)
    const documented = new Set([...read('docs/metrics.md').matchAll(/^\| `(mvad_[a-z0-9_]+)`/gm)].map((m) => m[1]))
    expect(rules.length).toBeGreaterThan(5)
    for (const rule of rules) {
      const used = [...rule.expr.matchAll(/\bmvad_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, ''))
      expect(used.length, rule.alert).toBeGreaterThan(0)
      for (const metric of used) expect(documented.has(metric), `${rule.alert}: ${metric}`).toBe(true)
    }
  })
})
