// `npm run test:unit`: every test that needs no service, in under a minute. No PostgreSQL (neither
// the shared server nor the server binaries), no Redis, NATS, Kafka, PgBouncer or Chromium, no
// server started in a child process: what runs here passes in a network namespace with nothing
// listening and with those programs off PATH (docs/testing.md says how that was checked).
//
// That is all of test/unit, and the few files under test/integration listed below: they need no
// service either, but test more than one module at a time (the AWS emulator through the real SDK
// clients, the bot's HTTP server on a loopback port, real processes run by the hook runner). A test
// in test/unit must never need a service; one that comes to need one moves to test/integration.
// `npm test` (jest.config.js) still runs every one of these too.
const base = require('./jest.config.js');

const SERVICE_FREE_INTEGRATION = [
  'aws/emulator-ec2.test.ts',
  'aws/emulator-wire.test.ts',
  'clusters/nats-assess.test.ts',
  'console/console-page.test.ts',
  'health/health-schema.test.ts',
  'hooks/process-hook-runner.test.ts',
  'ops/http-keep-alive.test.ts',
  'volume-swap/ebs-device.test.ts',
  'volume-swap/vs-config.test.ts',
];

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/unit', '<rootDir>/test/integration'],
  testMatch: [
    '<rootDir>/test/unit/**/*.test.ts',
    ...SERVICE_FREE_INTEGRATION.map((file) => `<rootDir>/test/integration/${file}`),
  ],
};
