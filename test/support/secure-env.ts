/**
 * Settings of the secured test listeners (Kafka SASL_SSL, Redis over TLS) as KEY=VALUE lines, the form
 * `infra/infra.sh secure-env` prints and MVAD_TEST_SECURE_ENV_FILE holds.
 */
export function parseEnvLines(text: string): Record<string, string | undefined> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  )
}

const REQUIRED = [
  'KAFKA_BROKERS',
  'KAFKA_SSL_CA_FILE',
  'KAFKA_SASL_MECHANISM',
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
  'REDIS_URL',
  'REDIS_TLS_CA_FILE',
] as const

/** The secured listeners' settings; throws, naming what is missing, when this run has none. */
export function secureSettings(text: string): Record<(typeof REQUIRED)[number], string> {
  const env = parseEnvLines(text)
  const missing = REQUIRED.filter((name) => !env[name])
  if (missing.length > 0) {
    throw new Error(
      `no secured Kafka/Redis for this run (missing ${missing.join(', ')}): run the tests with the local infra ` +
        '(infra/infra.sh starts them), or set MVAD_TEST_SECURE_ENV_FILE to a file of KEY=VALUE lines like ' +
        '`bash infra/infra.sh secure-env` prints',
    )
  }
  return Object.fromEntries(REQUIRED.map((name) => [name, env[name] ?? ''])) as Record<
    (typeof REQUIRED)[number],
    string
  >
}
