import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
    // The JSON report lets scripts/test.sh print one closing 'N passed, N failed' line for both layers.
    reporters: ['default', 'json'],
    outputFile: { json: '.infra/test-results/unit.json' },
    testTimeout: 20_000,
  },
})
