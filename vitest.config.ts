import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'docs/**/*.test.ts'],
    // real-kernel tests (test/replay) run namespaces in parallel inside their files
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
