import { defineConfig } from 'vitest/config'

// Integration tests talk to real Kafka, Redis and a schema registry chosen once in the global setup.
// On 2 cores, files run one after another; each test uses its own topic/group/key prefix.
export default defineConfig({
  test: {
    include: ['test/integration/**/*.test.ts'],
    environment: 'node',
    // The JSON report lets scripts/test.sh print one closing 'N passed, N failed' line for both layers.
    reporters: ['default', 'json'],
    outputFile: { json: '.infra/test-results/integration.json' },
    env: { KAFKAJS_NO_PARTITIONER_WARNING: '1' },
    globalSetup: ['test/integration/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
})
