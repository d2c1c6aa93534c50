// Two projects: `unit` runs the specs beside the code (no stack needed); `integration` runs
// test/ against the real broker, registry and document store, started once per run by
// test/harness/global-setup.ts.
const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('./tsconfig.json');

const shared = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
  // Type checking is `npm run typecheck`'s job; here ts-jest only transpiles, which keeps
  // the suite fast on two cores.
  transform: {
    '^.+\\.ts$': 'ts-jest',
    // jose 6 and p-retry 7 (with its is-network-error) are published as ES modules only: Node
    // loads them (require of ESM), jest's module system does not, so their files are transpiled
    // to CommonJS like ours.
    '^.+/node_modules/(jose|p-retry|is-network-error)/.+\\.js$': [
      'ts-jest',
      { tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022', isolatedModules: true } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(jose|p-retry|is-network-error)/)'],
  testPathIgnorePatterns: ['/node_modules/', '/.stack/'],
};

module.exports = {
  // Integration tests wait on real components (group joins, first fetches); unit tests finish
  // long before this.
  testTimeout: 120_000,
  reporters: ['default', '<rootDir>/test/harness/summary-reporter.js'],
  // Which files the two workers take first and last (the heaviest apart, the Helm chart test last).
  testSequencer: '<rootDir>/test/harness/sequencer.js',
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/{runtime,contracts,services,streams,infra,platform,simulator}/**/*.spec.ts',
        // The fault suite's checker is pure: its own specs need no stack.
        '<rootDir>/test/faults/**/*.spec.ts',
      ],
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      globalSetup: '<rootDir>/test/harness/global-setup.ts',
      globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
    },
  ],
};
