import type { Config } from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  // As tsconfig.json's `paths`: code written as users write it runs against the source.
  moduleNameMapper: {
    '^winston-buffered-mail$': '<rootDir>/src/index.ts',
    '^winston-buffered-mail/testing$': '<rootDir>/src/testing.ts',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  testTimeout: 30000,
  // Every test removes the files it creates: the run has a temporary folder of its own, and fails
  // when anything is left in it.
  globalSetup: '<rootDir>/__tests__/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/__tests__/helpers/global-teardown.ts',
  reporters: ['default', '<rootDir>/__tests__/helpers/summary-reporter.js'],
};

export default config;
