// `node:test` for a test file bundled into a browser page (test/store-chromium.test.ts aliases
// `node:test` to this file): `describe` and `it` register cases, `run()` runs them one after
// another and returns what each did. Only what the conformance suites use: describe, it, and a
// context whose `skip(message)` marks the case skipped.

/** What one case did. */
export interface CaseResult {
  readonly name: string
  readonly status: 'pass' | 'fail' | 'skip'
  /** The error's stack (or message) for a failure, the reason for a skip. */
  readonly detail?: string
}

/** The part of node:test's TestContext the suites use. */
export interface Context {
  skip(message?: string): void
}

type Fn = (t: Context) => unknown
const cases: Array<{ name: string; fn: Fn }> = []
let prefix = ''

/** Registers the cases `fn` declares under `name`. */
export function describe(name: string, fn: () => void): void {
  const outer = prefix
  prefix = `${outer}${name} > `
  try {
    fn()
  } finally {
    prefix = outer
  }
}

/** Registers a case. */
export function it(name: string, fn: Fn): void {
  cases.push({ name: prefix + name, fn })
}

export { it as test }

/** Runs every registered case in order, each to its end, and reports each. */
export async function run(): Promise<CaseResult[]> {
  const results: CaseResult[] = []
  for (const c of cases) {
    let skipped: string | undefined
    try {
      await c.fn({ skip: (m) => void (skipped = m ?? 'skipped') })
      results.push(skipped === undefined ? { name: c.name, status: 'pass' } : { name: c.name, status: 'skip', detail: skipped })
    } catch (err) {
      results.push({ name: c.name, status: 'fail', detail: err instanceof Error ? (err.stack ?? err.message) : String(err) })
    }
  }
  return results
}
