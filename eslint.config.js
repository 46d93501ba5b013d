// ESLint flat config. Why these rules: floating promises lose errors in a stream processor; import cycles make the
// pure core depend on adapters by accident; the restricted-imports block keeps numerics/codecs free of I/O libraries.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import { importX } from 'eslint-plugin-import-x'

const ioPackages = ['kafkajs', 'ioredis', 'pino', 'prom-client', 'fastify', '@kafkajs/confluent-schema-registry']
const pureFolders = ['src/domain/**', 'src/data/**', 'src/model/**', 'src/codec/**']

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.infra/**', 'coverage/**', 'out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
    },
  },
  {
    files: pureFolders,
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: ioPackages.map((name) => ({ name, message: 'Pure core: no I/O libraries here (see STYLE.md).' })) },
      ],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
)
