/** Evaluation: metrics, ground-truth readers, interpretation hit rate, charts (SVG). Pure. */
export * from './metrics.js'
export * from './labels.js'
export * from './hit-rate.js'
export * from './evaluate.js'
export * from './chart.js'
