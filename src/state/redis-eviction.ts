/**
 * Redis under memory pressure evicts keys by its `maxmemory-policy`. Every key this service writes is state it
 * cannot rebuild (windows, models, bindings, jobs; windows, jobs and results carry TTLs, so even `volatile-*` policies
 * pick them), and an evicted window or binding is lost without a trace: readings of an unbound entity are dead-lettered
 * `unknown_entity`. Only `noeviction` (Redis's default; managed services often set `volatile-lru`) makes a full Redis
 * refuse writes instead — which the service sees, retries and reports.
 */

/** A warning for the `INFO memory` answer of a Redis that may evict keys; undefined when it will not. */
export function evictionWarning(infoMemory: string): string | undefined {
  const policy = /^maxmemory_policy:(\S+)/m.exec(infoMemory)?.[1]
  if (policy === undefined || policy === 'noeviction') return undefined
  return (
    `Redis evicts keys under memory pressure (maxmemory-policy ${policy}): windows, models and bindings would be ` +
    'lost without a trace; set maxmemory-policy noeviction (docs/streaming.md, "Durability")'
  )
}
