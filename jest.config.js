/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Every fast-check property takes its seed from FC_SEED (printed by .ci/run) or a fresh one.
  setupFiles: ['<rootDir>/test/support/fast-check-seed.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Integration suites share one PostgreSQL and one Redis; each uses its own schema/queue names,
  // but two workers are all a 2-core machine can carry.
  maxWorkers: 2,
  testTimeout: 60000,
};
