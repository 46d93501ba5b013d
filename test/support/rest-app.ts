/**
 * The service with its MVAD REST API on real Kafka and Redis, for the REST integration tests, and Microsoft's GA
 * client pointed at it.
 */
import { join } from 'node:path'
import AnomalyDetectorRest from '@azure-rest/ai-anomaly-detector'
import { AzureKeyCredential } from '@azure/core-auth'
import type { App } from '../../src/app.js'
import { testApp } from './test-app.js'

// A CommonJS package: under Node's ESM rules its default import is the module object (whose `default` is
// createClient), under vitest's interop createClient itself.
const createClient: typeof AnomalyDetectorRest.default =
  typeof AnomalyDetectorRest === 'function' ? AnomalyDetectorRest : AnomalyDetectorRest.default

export type MvadClient = ReturnType<typeof createClient>

export const REST_TEST_KEY = 'test-key-0123456789abcdef'

/** Starts the service (topics and keys under `prefix`, files under `work`) with `env` on top; stop it with app.stop. */
export async function startRestApp(
  prefix: string,
  work: string,
  env: Record<string, string>,
): Promise<{ app: App; client: MvadClient }> {
  const app = testApp(prefix, {
    MVAD_API_KEY: REST_TEST_KEY,
    MVAD_REST_DATA_DIR: join(work, 'rest'),
    MVAD_CHARTS_DIR: join(work, 'charts'),
    // Control commands restricted to a folder of their own: REST jobs, which read the REST data folder and its local
    // roots, must not be refused by it.
    MVAD_CONTROL_FILE_ROOTS: join(work, 'control-files'),
    ...env,
  })
  await app.start()
  // Plain http needs allowInsecureConnection with today's Azure core (documented in docs/rest.md).
  const client = createClient(app.url(), new AzureKeyCredential(REST_TEST_KEY), { allowInsecureConnection: true })
  return { app, client }
}
