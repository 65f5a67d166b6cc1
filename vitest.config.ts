import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'

const migrations = await readD1Migrations('migrations')

export default defineConfig({
  test: {
    projects: [
      {
        // Everything that touches the Worker runs inside workerd with real D1 and Durable Objects.
        plugins: [
          cloudflareTest({
            // The sources, not wrangler.toml's built `main` (dist/, made by scripts/build/).
            main: './src/index.ts',
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                TEST_MIGRATIONS: migrations,
                VISITOR_HASH_SECRET: 'test-visitor-secret',
                SESSION_SECRET: 'test-session-secret',
                LIVE_TOKEN_SECRET: 'test-live-token-secret',
              },
            },
          }),
        ],
        test: {
          name: 'workers',
          include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
          exclude: ['test/node/**', 'test/browser/**'],
          setupFiles: ['./test/setup.ts'],
          globalSetup: ['./test/global-setup.ts'],
        },
      },
      {
        // Node-side checks that need native tools (rasterising SVG, strict QR decoding).
        test: { name: 'node', include: ['test/node/**/*.test.ts'], environment: 'node' },
      },
      {
        // The built bundle in workerd, driven by Debian's Chromium (see test/browser/harness.ts).
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
})
