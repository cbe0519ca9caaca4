// `npm run test:faults`: the fault-injection suite (issue 9). Its files end in `.fault.ts`, not
// `.test.ts`, so the default `npm test` (jest.config.js matches **/*.test.ts under test/) never
// runs them. Each case writes its counters under .test-artifacts/faults/cases/, and
// scripts/faults-summary.ts prints the table from them.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/faults'],
  testMatch: ['**/*.fault.ts'],
  // Every fast-check property takes its seed from FC_SEED (printed by .ci/run) or a fresh one.
  setupFiles: ['<rootDir>/test/support/fast-check-seed.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // One 2-core machine: the suites start PostgreSQL clusters and worker processes of their own.
  maxWorkers: 2,
  testTimeout: 120000,
};
