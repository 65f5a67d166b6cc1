/**
 * Something loaded on first use and kept, usually a module behind a dynamic `import()`: `get()`
 * returns the same promise each time, `now()` the value once it has arrived (synchronously; it
 * starts nothing). A failed load is forgotten, so the next call tries again instead of failing
 * for the life of the isolate.
 */
export function lazy<T>(load: () => Promise<T>) {
  let promise: Promise<T> | undefined
  let value: T | undefined
  return {
    get(): Promise<T> {
      promise ??= load().then(
        (loaded) => {
          value = loaded
          return loaded
        },
        (err: unknown) => {
          promise = undefined
          throw err
        },
      )
      return promise
    },
    now(): T | undefined {
      return value
    },
  }
}
