// The scripts import shared modules that mention Worker types without using them at run time.
type D1Database = object
type Env = { DB: D1Database } & Record<string, unknown>
