// Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by playwright-core
// (.ci/run installs it with apt-get). `chromiumPath` is undefined where none is installed; the
// tests then skip with `NO_CHROMIUM` as their message.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext } from 'playwright-core'

export const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))

export const NO_CHROMIUM = 'no Chromium installed (apt-get install chromium); the browser test did not run'

/** A headless Chromium on a fresh profile (its IndexedDB included), removed by `close()`. */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const { chromium } = await import('playwright-core')
  const profile = mkdtempSync(join(tmpdir(), 'hearsay-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath!,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  })
  return {
    context,
    async close() {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}
