import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    // EAL starts once per process: every test file runs in a forked process of its own,
    // one at a time (two engines would busy-poll the same worker CPU).
    pool: 'forks',
    fileParallelism: false,
    isolate: true,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
