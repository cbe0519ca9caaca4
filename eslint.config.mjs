// ESLint flat config: typescript-eslint's type-aware recommended rules, formatting left to Prettier.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.test-artifacts/**',
      '*.config.js',
      '*.config.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      'no-console': 'error',
    },
  },
  {
    // The engine, strategy planning and hook text stay pure: no I/O libraries, no adapters.
    files: [
      'src/engine/**/*.ts',
      'src/hooks/**/*.ts',
      'src/strategies/define.ts',
      'src/strategies/*/plan.ts',
      'src/strategies/*/config.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: ['pg', 'bullmq', 'ioredis', '@slack/*', '@aws-sdk/*', 'node:*', '**/adapters/**', 'pino'],
        },
      ],
    },
  },
  {
    // Strategies see the world through ports only (src/ports), never through an adapter or an SDK.
    files: ['src/strategies/**/*.ts'],
    ignores: ['src/strategies/define.ts', 'src/strategies/*/plan.ts', 'src/strategies/*/config.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['pg', 'bullmq', 'ioredis', '@slack/*', '@aws-sdk/*', '**/adapters/**', 'pino'] },
      ],
    },
  },
  {
    // Adapters store and carry; the engine's decision (transition) is passed in by the orchestrator.
    files: ['src/adapters/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/engine/transition'] }],
    },
  },
  {
    // The console page's browser code (DOM types from src/console/page/tsconfig.json): no Node modules.
    files: ['src/console/page/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', 'esbuild', 'pino'] }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
      // Jest's asymmetric matchers (expect.any, expect.stringMatching) are typed any.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      // Polling probes are async by contract even when a particular probe reads memory only.
      '@typescript-eslint/require-await': 'off',
    },
  },
);
