import { defineConfig } from 'vitest/config'

// Tests import workspace packages from their TypeScript sources (the `@capsule/source` export condition),
// so `vitest` needs no build first.
const conditions = ['@capsule/source', 'node', 'import', 'module', 'default']
// Vitest hands the SSR conditions to the test processes as `node --conditions`, which applies to
// `require()` too: with `import` there, a CommonJS package (pg) requiring a dual one (pg-pool) gets its ESM
// namespace instead of its class. Node adds `import` and `require` by itself.
const nodeConditions = ['@capsule/source', 'node', 'default']

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions: nodeConditions, externalConditions: ['@capsule/source'] } },
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'contract-tests/test/**/*.test.ts',
      'python-worker/test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'bench/test/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
})
