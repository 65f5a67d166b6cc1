// What test/global-setup.ts hands to the tests through vitest's provide/inject.
export {}

declare module 'vitest' {
  export interface ProvidedContext {
    stripePort: number
    dnsPort: number
  }
}
