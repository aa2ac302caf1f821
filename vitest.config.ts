import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Removes what the run leaves behind (folders, the second user's processes and the user), also after failures.
    globalSetup: ["test/support/cleanup.ts"],
    // Process tests spawn many Node processes on a 2-core machine: give them room, and
    // keep files that race real processes from starving each other.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxConcurrency: 1,
    fileParallelism: true,
    poolOptions: { forks: { maxForks: 2 } },
    pool: "forks"
  }
})
