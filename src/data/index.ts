/** Data layer: MVAD CSV parsing (OneTable/MultiTable), alignment, gap filling, inference checks. Pure of I/O libraries. */
export * from './table.js'
export * from './limits.js'
export * from './timestamp.js'
export * from './csv.js'
export * from './align.js'
export * from './inference.js'
export * from './files.js'
