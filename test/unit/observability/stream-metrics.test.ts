import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createStreamMetrics, dropModelSeries } from '../../../src/observability/stream-metrics.js'

describe('stream metrics', () => {
  it('drops the per-model series of a model no longer loaded, and only those', async () => {
    const registry = new Registry()
    const metrics = createStreamMetrics(registry)
    metrics.framesScored.inc({ model: 'gone' })
    metrics.framesScored.inc({ model: 'kept' })
    metrics.shadowFrames.inc({ model: 'gone', anomalous: 'true' })
    dropModelSeries(metrics, 'gone')
    const text = await registry.metrics()
    expect(text).not.toContain('model="gone"')
    expect(text).toContain('mvad_frames_scored_total{model="kept"} 1')
  })

  it('has scoring buckets up to 0.25 s (an interpreted row at MVAD limits takes 27–43 ms)', async () => {
    const registry = new Registry()
    createStreamMetrics(registry).scoringSeconds.observe(0.04)
    expect(await registry.metrics()).toContain('mvad_scoring_seconds_bucket{le="0.05"} 1')
  })
})
