/**
 * Stands in for `fs` in the bundle (the `alias` of scripts/build/index.ts). qrcode-svg requires
 * `fs` only inside its `save()`, which we never call, but the bundler hoists that require to a
 * top-level import of `node:fs`, and evaluating `node:fs` is most of a cold isolate's startup CPU.
 */
export default {}
