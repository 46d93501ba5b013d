/** Pipelines shared by the CLI, REST API and replay. Pure. */
export * from './detect-batch.js'
export * from './result-json.js'
