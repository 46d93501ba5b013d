/**
 * Metrics of the scoring stream (listed in docs/metrics.md), and the WorkerObserver that feeds them, so the
 * partition worker itself stays free of prom-client.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { EpochMs } from '../domain/types.js'
import type { AnomalyEvent } from '../stream/anomaly-event.js'
import type { LoadedModel } from '../stream/model-runtime.js'
import type { WorkerObserver } from '../stream/partition-worker.js'

export interface StreamMetrics {
  readings: Counter<'outcome'>
  framesScored: Counter<'model'>
  anomalies: Counter<'severity_band'>
  shadowFrames: Counter<'model' | 'anomalous'>
  scoringSeconds: Histogram
  endToEndSeconds: Histogram
  deadLetters: Counter<'reason'>
  windowStoreSeconds: Histogram<'operation'>
  consumerLag: Gauge<'topic' | 'partition'>
  modelsLoaded: Gauge
  eventsPublished: Counter<'topic'>
  framesFlushedIdle: Counter
  framesFilled: Counter
  framesPending: Gauge<'topic' | 'partition'>
  partitionsReadAgain: Counter
}

export function createStreamMetrics(registry: Registry): StreamMetrics {
  const registers = [registry]
  return {
    readings: new Counter({
      name: 'mvad_readings_total',
      help: 'Readings consumed, by outcome: accepted (into a frame), replayed (already in the window), dead_lettered.',
      labelNames: ['outcome'],
      registers,
    }),
    framesScored: new Counter({
      name: 'mvad_frames_scored_total',
      help: 'Frames scored with detect-last, by model id.',
      labelNames: ['model'],
      registers,
    }),
    anomalies: new Counter({
      name: 'mvad_anomalies_total',
      help: 'Anomalous frames, by severity band: low (<0.3), medium (<0.7), high.',
      labelNames: ['severity_band'],
      registers,
    }),
    shadowFrames: new Counter({
      name: 'mvad_shadow_frames_scored_total',
      help: 'Frames scored by shadow models, by model id and whether the shadow found them anomalous (not alerts).',
      labelNames: ['model', 'anomalous'],
      registers,
    }),
    scoringSeconds: new Histogram({
      name: 'mvad_scoring_seconds',
      help: 'Time to score one frame (detect-last).',
      // Up to 0.25 s: an anomalous row at MVAD's limits (301 variables, window 2,880) is interpreted in 27–43 ms.
      buckets: [0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers,
    }),
    endToEndSeconds: new Histogram({
      name: 'mvad_end_to_end_latency_seconds',
      help: 'From the reading’s Kafka timestamp (ingest) to the event being acknowledged by Kafka.',
      // Up to 10 min: while a backlog drains (after an outage, a restart), latencies of minutes are what to see.
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600],
      registers,
    }),
    deadLetters: new Counter({
      name: 'mvad_dead_letters_total',
      help: 'Records sent to the dead-letter topic, by reason.',
      labelNames: ['reason'],
      registers,
    }),
    windowStoreSeconds: new Histogram({
      name: 'mvad_window_store_seconds',
      help: 'Window store operations (load, append, clear).',
      labelNames: ['operation'],
      // Up to 2.5 s: a window at MVAD's limits (2,880 rows × 301 variables) takes tens of ms; a slow Redis more.
      buckets: [0.000_25, 0.000_5, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    consumerLag: new Gauge({
      name: 'mvad_consumer_lag',
      help: 'Messages between the last processed offset and the partition high watermark.',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    modelsLoaded: new Gauge({
      name: 'mvad_models_loaded',
      help: 'Model versions loaded in memory for scoring.',
      registers,
    }),
    eventsPublished: new Counter({
      name: 'mvad_events_published_total',
      help: 'Messages acknowledged by Kafka, by topic kind (events, scores, dead_letters).',
      labelNames: ['topic'],
      registers,
    }),
    partitionsReadAgain: new Counter({
      name: 'mvad_partitions_read_again_total',
      help: 'Partitions read again from the offset the window store reflects, because it was behind a commit made after saving it (Redis lost acknowledged writes).',
      registers,
    }),
    framesFilled: new Counter({
      name: 'mvad_frames_filled_total',
      help: 'Frames scored with at least one variable filled (fillNAMethod) because its reading had not arrived: past MVAD_ALLOWED_LATENESS_MS, or flushed idle.',
      registers,
    }),
    framesPending: new Gauge({
      name: 'mvad_frames_pending',
      help: 'Frames waiting for readings of some variables, by partition; their readings are not committed while they wait.',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    framesFlushedIdle: new Counter({
      name: 'mvad_frames_idle_flushed_total',
      help: 'Incomplete frames of an entity that fell silent, scored with their missing values filled (MVAD_FRAME_IDLE_FLUSH_MS).',
      registers,
    }),
  }
}

/** Drops the per-model series of a model no longer loaded (the `model` label must not grow with every id ever seen). */
export function dropModelSeries(metrics: StreamMetrics, modelId: string): void {
  metrics.framesScored.remove({ model: modelId })
  for (const anomalous of ['true', 'false']) metrics.shadowFrames.remove({ model: modelId, anomalous })
}

export function severityBand(severity: number): 'low' | 'medium' | 'high' {
  return severity < 0.3 ? 'low' : severity < 0.7 ? 'medium' : 'high'
}

/** Observer for a partition worker; end-to-end latency is recorded by the sink after the ack. */
export function workerObserver(metrics: StreamMetrics): WorkerObserver {
  return {
    readings(outcome, count) {
      if (count > 0) metrics.readings.inc({ outcome }, count)
    },
    frameScored(model: LoadedModel, event: AnomalyEvent, scoringSeconds: number, _ingest: EpochMs) {
      metrics.framesScored.inc({ model: model.modelId })
      metrics.scoringSeconds.observe(scoringSeconds)
      if (event.isAnomaly) metrics.anomalies.inc({ severity_band: severityBand(event.severity) })
    },
    shadowScored(model, event, scoringSeconds) {
      metrics.shadowFrames.inc({ model: model.modelId, anomalous: String(event.isAnomaly) })
      metrics.scoringSeconds.observe(scoringSeconds)
    },
    windowStoreSeconds(operation, seconds) {
      metrics.windowStoreSeconds.observe({ operation }, seconds)
    },
    endToEndSeconds(seconds) {
      metrics.endToEndSeconds.observe(seconds)
    },
    framesFlushedIdle(count) {
      if (count > 0) metrics.framesFlushedIdle.inc(count)
    },
    framesFilled(count) {
      metrics.framesFilled.inc(count)
    },
  }
}
