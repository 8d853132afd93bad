// The notes page (examples/web) in headless Chromium: two pages and the server's replica edit
// concurrently and converge; the server goes away, both pages keep editing (and sync with each
// other over BroadcastChannel), the server edits too, it comes back, and all three end with
// identical content; a page reloaded with the server down and the other page closed restores
// every note from IndexedDB. A screenshot is saved to test/artifacts/web.png (git-ignored).
// Skipped, with a message, when no Chromium is installed (apt-get install chromium).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryStore } from '@hearsay/core'
import { startWebServer } from '../examples/web/server.ts'

const root = new URL('..', import.meta.url).pathname
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))

test('the notes page: two pages and the server converge, offline and back, and a reload restores from IndexedDB', { timeout: 240_000, skip: chromium === undefined ? 'no Chromium installed (apt-get install chromium); the browser test did not run' : false }, async () => {
  const { chromium: pw } = await import('playwright-core')
  const server = await startWebServer({ store: new MemoryStore() })
  const profile = mkdtempSync(join(tmpdir(), 'hearsay-chromium-'))
  const browser = await pw.launchPersistentContext(profile, {
    executablePath: chromium!,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  })
  type Page = Awaited<ReturnType<typeof browser.newPage>>
  const notesOf = (p: Page) => p.evaluate(() => (globalThis as unknown as { hearsay?: { notes: { toJSON(): unknown } } }).hearsay?.notes.toJSON() ?? {}) as Promise<Record<string, { text: string }>>
  const texts = async (p: Page) => Object.values(await notesOf(p)).map((n) => n.text).sort()
  const serverTexts = () => Object.values(server.notes.toJSON() as Record<string, { text: string }>).map((n) => n.text).sort()
  const add = async (p: Page, text: string) => {
    await p.fill('#new', text)
    await p.click('#add')
  }
  async function until(what: string, cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
    const end = Date.now() + ms
    while (Date.now() < end) {
      if (await cond()) return
      await new Promise((r) => setTimeout(r, 100))
    }
    assert.fail(`timed out waiting for ${what}`)
  }
  const serverNote = (text: string) => server.notes.set(`srv-${text}`, { text, done: false })
  try {
    // The page's module sets `hearsay` once IndexedDB is open; until then it reads as empty.
    const p1 = await browser.newPage()
    const p2 = await browser.newPage()
    const errors: string[] = []
    for (const p of [p1, p2]) p.on('pageerror', (e) => errors.push(String(e)))
    await p1.goto(server.url + '&db=page-1')
    await p2.goto(server.url + '&db=page-2')
    const inSync = (p: Page) => p.evaluate(() => (globalThis as unknown as { hearsay?: { state: { server: string } } }).hearsay?.state.server === 'in sync')
    await until('both pages in sync with the server', async () => (await inSync(p1)) && (await inSync(p2)))

    // Concurrent edits on all three.
    await Promise.all([add(p1, 'milk'), add(p2, 'eggs'), Promise.resolve(serverNote('bread'))])
    const all1 = ['bread', 'eggs', 'milk']
    await until('three-way convergence', async () => JSON.stringify(await texts(p1)) === JSON.stringify(all1) && JSON.stringify(await texts(p2)) === JSON.stringify(all1) && JSON.stringify(serverTexts()) === JSON.stringify(all1))

    // Offline: the server's listener goes away; the pages keep editing and sync between tabs.
    await server.stopSync()
    await until('both pages see the server offline', async () => !(await inSync(p1)) && !(await inSync(p2)))
    await add(p1, 'tea')
    await add(p2, 'jam')
    serverNote('salt')
    await until('tabs sync with no server', async () => JSON.stringify(await texts(p1)) === JSON.stringify(await texts(p2)) && (await texts(p1)).length === 5)
    assert.deepEqual(serverTexts(), ['bread', 'eggs', 'milk', 'salt'], 'the server saw nothing while offline')

    // Back online: everything merges.
    await server.startSync()
    const all2 = ['bread', 'eggs', 'jam', 'milk', 'salt', 'tea']
    await until('convergence after reconnecting', async () => JSON.stringify(await texts(p1)) === JSON.stringify(all2) && JSON.stringify(await texts(p2)) === JSON.stringify(all2) && JSON.stringify(serverTexts()) === JSON.stringify(all2))
    assert.deepEqual(await notesOf(p1), server.notes.toJSON())
    assert.deepEqual(await notesOf(p2), server.notes.toJSON())
    mkdirSync(join(root, 'test/artifacts'), { recursive: true })
    await p1.screenshot({ path: join(root, 'test/artifacts/web.png') })

    // Reload with no server and no other tab: IndexedDB alone restores every note.
    await p1.evaluate(() => (globalThis as unknown as { hearsay: { saved(): Promise<void> } }).hearsay.saved())
    await server.stopSync()
    await p2.close()
    await p1.reload()
    await until('the reloaded page restores its notes', async () => JSON.stringify(await texts(p1)) === JSON.stringify(all2), 15_000)
    const restored = await p1.evaluate(() => (globalThis as unknown as { hearsay: { state: { restored: number } } }).hearsay.state.restored)
    assert.equal(restored, 6, 'all six notes came from IndexedDB')
    assert.deepEqual(errors, [], 'no page errors')
  } finally {
    await browser.close()
    await server.close()
    rmSync(profile, { recursive: true, force: true })
  }
})
