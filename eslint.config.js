// ESLint flat config. Why these rules: floating promises lose errors in a stream processor; the restricted-imports
// block keeps numerics/codecs free of I/O libraries. Import cycles are checked by `npm run lint:cycles` (dpdm):
// eslint-plugin-import-x 4.x pulls a native resolver whose platform packages npm leaves out of the lock file here.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const ioPackages = ['kafkajs', 'ioredis', 'pino', 'prom-client', 'fastify', '@kafkajs/confluent-schema-registry']
// The pure core: numerics, alignment, scoring, thresholds, metrics, and the stream's codecs and frame assembly.
const pureFiles = [
  'src/domain/**',
  'src/data/**',
  'src/model/**',
  'src/eval/**',
  'src/pipeline/**',
  'src/stream/anomaly-event.ts',
  'src/stream/frame-assembler.ts',
  'src/stream/dead-letter-log.ts',
  'src/stream/reading-codec.ts',
]

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.infra/**', 'coverage/**', 'out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: pureFiles,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioPackages.map((name) => ({
            name,
            message: 'Pure core: no I/O libraries here (see docs/architecture.md).',
          })),
        },
      ],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
)
