import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin'
import type { Plugin } from 'vite'
import { defineConfig } from 'vitest/config'
import { unstable_readConfig } from 'wrangler'

const migrations = await readD1Migrations('migrations')

/**
 * wrangler also reads a developer's `.dev.vars` for the tests: every secret and variable is set
 * here (wrangler.toml's [vars], fixed test secrets, the optional ones blank, as in CI), so no local
 * value — a real Stripe key, say — changes what the tests see. Tests set their own per request.
 * wrangler.toml ships ENVIRONMENT = "production" (fail closed); the tests run as a local run does,
 * in development, and set production per request where that is what they test.
 */
const { vars } = unstable_readConfig({ config: 'wrangler.toml' }) as {
  vars: Record<string, string>
}
const TEST_ENV = {
  ...vars,
  ENVIRONMENT: 'development',
  VISITOR_HASH_SECRET: 'test-visitor-secret',
  SESSION_SECRET: 'test-session-secret',
  LIVE_TOKEN_SECRET: 'test-live-token-secret',
  STRIPE_SECRET_KEY: '',
  STRIPE_WEBHOOK_SECRET: '',
  STRIPE_CONNECT_WEBHOOK_SECRET: '',
  STRIPE_API_HOST: '',
  STRIPE_API_PORT: '',
  STRIPE_API_PROTOCOL: '',
  DNS_RESOLVER_URL: '',
}

/**
 * Vite warns, once per file, that a package's source maps name sources the package does not ship
 * (the Stripe SDK: ~220 lines a run). True, and nothing we can act on: dropped for files under
 * node_modules. Vitest installs its own logger over any `customLogger`, so this wraps the one it
 * resolved; every other message passes.
 */
const quietPackageSourceMaps: Plugin = {
  name: 'quiet-package-source-maps',
  configResolved(config) {
    const warnOnce = config.logger.warnOnce.bind(config.logger)
    config.logger.warnOnce = (message, options) => {
      if (
        /^Sourcemap for ".*[\\/]node_modules[\\/].*" points to missing source files$/.test(message)
      ) {
        return
      }
      warnOnce(message, options)
    }
  },
}

export default defineConfig({
  test: {
    // A green run in CI (no terminal) is a line of dots and the totals; a failure prints in full,
    // with what its test logged. In a terminal, vitest's usual live view.
    reporters: process.stdout.isTTY ? ['default'] : ['dot'],
    // Tests that make the code log on purpose (refused payments, injected failures) stay quiet
    // when they pass.
    silent: 'passed-only',
    projects: [
      {
        // Everything that touches the Worker runs inside workerd with real D1 and Durable Objects.
        plugins: [
          quietPackageSourceMaps,
          cloudflareTest({
            // The sources, not wrangler.toml's built `main` (dist/, made by scripts/build/).
            main: './src/index.ts',
            wrangler: { configPath: './wrangler.toml' },
            miniflare: { bindings: { TEST_MIGRATIONS: migrations, ...TEST_ENV } },
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
