/**
 * Settings the service does not know: MVAD_* variables that are most likely misspelt, reported at start with the
 * closest known name.
 */
import { CONFIG_VARIABLES, type RawEnv } from './config.js'

/** MVAD_* variables read by the repository's scripts (infra.sh, demo.sh, tests), not by the service. */
const SCRIPT_VARIABLES: ReadonlySet<string> = new Set([
  'MVAD_APICURIO_VERSION',
  'MVAD_DEMO_ENTITY',
  'MVAD_DEMO_ONCE',
  'MVAD_DEMO_RATE',
  'MVAD_INFRA_DIR',
  'MVAD_INFRA_TIMEOUT',
  'MVAD_KAFKA_CONTROLLER_PORT',
  'MVAD_KAFKA_PORT',
  'MVAD_KAFKA_SECURE_PORT',
  'MVAD_REDIS_PORT',
  'MVAD_REDIS_TLS_PORT',
  'MVAD_REGISTRY_JAVA',
  'MVAD_REGISTRY_MANAGEMENT_PORT',
  'MVAD_REGISTRY_PORT',
  'MVAD_TEST_SECURE_ENV_FILE',
  'MVAD_TEST_SHOW_LOGS',
])

/**
 * MVAD_* variables set in `env` that the service does not read: most likely misspelled (a setting that silently
 * keeps its default). Each with the known name closest to it, when one is close.
 */
export function unknownSettings(env: RawEnv): { name: string; closest?: string }[] {
  const known = CONFIG_VARIABLES
  return Object.keys(env)
    .filter(
      (name) =>
        name.startsWith('MVAD_') &&
        !known.includes(name) &&
        !SCRIPT_VARIABLES.has(name) &&
        !isServiceLink(name, env[name]),
    )
    .sort()
    .map((name) => {
      let closest: string | undefined
      let best = 4 // at most 3 edits away
      for (const candidate of known) {
        const distance = editDistance(name, candidate)
        if (distance < best) [best, closest] = [distance, candidate]
      }
      return closest === undefined ? { name } : { name, closest }
    })
}

/**
 * Kubernetes "service links": a Service named mvad-stream gives every pod MVAD_STREAM_SERVICE_HOST,
 * MVAD_STREAM_PORT_8080_TCP_ADDR and the like. Not settings, and not the user's typos.
 */
function isServiceLink(name: string, value: string | undefined): boolean {
  if (/_SERVICE_(HOST|PORT)(_[A-Z0-9_]+)?$|_PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?$/.test(name)) return true
  // <NAME>_PORT holds an address (tcp://10.0.0.1:8080); a misspelt MVAD_…_PORT setting holds a number.
  return name.endsWith('_PORT') && /^(tcp|udp|sctp):\/\//.test(value ?? '')
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution))
    }
    previous = current
  }
  return previous[b.length] as number
}
