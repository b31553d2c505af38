import { defineConfig } from 'vitest/config';

// Kernel tests share one kernel (netns, cgroups, bpffs), so files run in forks
// with a bounded pool; each test cleans up after itself in `finally`.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
