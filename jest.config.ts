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
  reporters: ['default', '<rootDir>/__tests__/helpers/summary-reporter.js'],
};

export default config;
