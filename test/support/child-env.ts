/**
 * The environment of a service or CLI process a test starts: the machine's (PATH, HOME, …) and the test's settings,
 * without the developer's own service settings — a stray MVAD_*, KAFKA_*, REDIS_* or SCHEMA_REGISTRY_* in the shell
 * would change what the test runs against.
 */
const SERVICE_SETTING = /^(MVAD_|KAFKA_|REDIS_|SCHEMA_REGISTRY_)/

export function childEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const machine = Object.entries(process.env).filter(([name]) => !SERVICE_SETTING.test(name))
  return { ...Object.fromEntries(machine), ...settings }
}
