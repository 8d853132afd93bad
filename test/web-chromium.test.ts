// The notes page (examples/web) in headless Chromium, against real `hearsay peer` daemons: each
// page runs a gossip Node in the browser (the Noise handshake in the page, IndexedDBStore,
// WebSocketTransport to the daemon, BroadcastChannelTransport between tabs). A value put with
// `hearsay put` appears in both pages; notes typed in the pages reach the daemon (`hearsay
// get`); with the daemon stopped the pages keep editing and sync with each other; restarted, it
// merges everything; a page reloaded with no daemon and no other tab restores its notes and
// its node id from IndexedDB; a daemon with another network key gets nothing. A screenshot is
// saved to test/artifacts/web.png (git-ignored). Skipped, with a message, when no Chromium is
// installed (apt-get install chromium).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { Running, hearsay, tempDir } from './helpers/cli.ts'
import { startWebServer } from '../examples/web/server.ts'
import { NO_CHROMIUM, chromiumPath, launchChromium } from './chromium.ts'

const root = new URL('..', import.meta.url).pathname

/** A loopback port free a moment ago, so a daemon can be restarted on the same address. */
async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise((r) => s.close(r))
  return port
}

async function until(what: string, cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await cond()) return
    await new Promise((r) => setTimeout(r, 150))
  }
  assert.fail(`timed out waiting for ${what}`)
}

const texts = (notes: Record<string, { text: string }>): string[] => Object.values(notes).map((n) => n.text).sort()
const same = (a: string[], b: string[]): boolean => JSON.stringify(a) === JSON.stringify(b)

test('the notes page runs a gossip node in Chromium and syncs with hearsay peer daemons, offline and back; a reload restores from IndexedDB; another key gets nothing', { timeout: 300_000, skip: chromiumPath === undefined ? NO_CHROMIUM : false }, async () => {
  const { dir, cleanup } = await tempDir('web')
  const key = 'web-test-network'
  const dataA = join(dir, 'a')
  const peerA = `ws://127.0.0.1:${await freePort()}`
  const daemons: Running[] = []
  const startDaemon = async (data: string, id: string, networkKey: string, url: string): Promise<Running> => {
    const d = new Running(['peer', '--data', data, '--id', id, '--listen', url, '--interval', '200ms', '--status-every', '0'], { HEARSAY_KEY: networkKey })
    daemons.push(d)
    await d.waitFor(new RegExp(`node ${id} ready`))
    return d
  }
  const daemonNotes = async (data: string): Promise<Record<string, { text: string }> | undefined> => {
    const r = await hearsay(['get', '--data', data, 'notes'])
    return r.code === 0 ? JSON.parse(r.stdout) : undefined
  }
  const web = await startWebServer()
  const chromium = await launchChromium()
  const browser = chromium.context
  type Page = Awaited<ReturnType<typeof browser.newPage>>
  type PageView = { id: string; notes: Record<string, { text: string }>; daemon: string; daemonId?: string; authErrors: number; restored: number; db: string }
  // The page's module sets `hearsay` once its node opened the store; until then it reads as null.
  const view = (p: Page) =>
    p.evaluate(() => {
      const h = (globalThis as unknown as { hearsay?: { node: { id: string }; notes: { toJSON(): unknown }; state: Record<string, unknown> } }).hearsay
      return h === undefined ? null : { id: h.node.id, notes: h.notes.toJSON(), ...h.state, tabs: undefined }
    }) as Promise<PageView | null>
  const pageTexts = async (p: Page) => texts((await view(p))?.notes ?? {})
  const add = async (p: Page, text: string) => {
    await p.fill('#new', text)
    await p.click('#add')
  }
  const inSync = async (p: Page) => (await view(p))?.daemon === 'in sync'
  try {
    await startDaemon(dataA, 'daemon', key, peerA)
    const p1 = await browser.newPage()
    const p2 = await browser.newPage()
    const errors: string[] = []
    for (const p of [p1, p2]) p.on('pageerror', (e) => errors.push(String(e)))
    await p1.goto(web.pageUrl({ peer: peerA, key, db: 'page-1' }))
    await p2.goto(web.pageUrl({ peer: peerA, key, db: 'page-2' }))
    await until('both pages in sync with the daemon', async () => (await inSync(p1)) && (await inSync(p2)))
    const v1 = (await view(p1))!
    assert.equal(v1.daemonId, 'daemon')
    assert.notEqual(v1.id, (await view(p2))!.id, 'two tabs, two node ids')

    // The daemon's value appears in both pages.
    let r = await hearsay(['put', '--data', dataA, 'notes', 'from-daemon', '{"text":"from the daemon","done":false}'])
    assert.equal(r.code, 0, r.stderr)
    await until('the daemon\'s note in both pages', async () => (await pageTexts(p1)).includes('from the daemon') && (await pageTexts(p2)).includes('from the daemon'))

    // Notes typed in the pages reach the daemon.
    await add(p1, 'milk')
    await add(p2, 'eggs')
    const all1 = ['eggs', 'from the daemon', 'milk']
    await until('the pages\' notes on the daemon', async () => same(texts((await daemonNotes(dataA)) ?? {}), all1))
    await until('both pages converge', async () => same(await pageTexts(p1), all1) && same(await pageTexts(p2), all1))
    r = await hearsay(['status', '--data', dataA, '--json'])
    const peers = (JSON.parse(r.stdout) as { peers: Array<{ id: string }> }).peers.map((p) => p.id)
    assert.ok(peers.includes(v1.id), `the daemon knows the page's node ${v1.id}: ${peers}`)

    // Offline: the daemon stops; the pages keep editing and sync with each other over BroadcastChannel.
    assert.equal(await daemons[0]!.stop('SIGTERM'), 0)
    await until('both pages see the daemon gone', async () => !(await inSync(p1)) && !(await inSync(p2)))
    await add(p1, 'tea')
    await add(p2, 'jam')
    await until('the tabs sync with no daemon', async () => (await pageTexts(p1)).length === 5 && same(await pageTexts(p1), await pageTexts(p2)))

    // The daemon comes back on the same address, writes too, and everything merges.
    await startDaemon(dataA, 'daemon', key, peerA)
    r = await hearsay(['put', '--data', dataA, 'notes', 'salt', '{"text":"salt","done":false}'])
    assert.equal(r.code, 0, r.stderr)
    const all2 = ['eggs', 'from the daemon', 'jam', 'milk', 'salt', 'tea']
    await until('convergence after the daemon is back', async () => same(texts((await daemonNotes(dataA)) ?? {}), all2) && same(await pageTexts(p1), all2) && same(await pageTexts(p2), all2))
    assert.deepEqual((await view(p1))!.notes, await daemonNotes(dataA))
    assert.deepEqual((await view(p2))!.notes, await daemonNotes(dataA))
    mkdirSync(join(root, 'test/artifacts'), { recursive: true })
    await p1.screenshot({ path: join(root, 'test/artifacts/web.png') })

    // Reload with no daemon and no other tab: IndexedDB alone restores the notes and the node id.
    await p1.evaluate(() => (globalThis as unknown as { hearsay: { saved(): Promise<void> } }).hearsay.saved())
    assert.equal(await daemons[1]!.stop('SIGTERM'), 0)
    await p2.close()
    await p1.reload()
    await until('the reloaded page restores its notes', async () => same(await pageTexts(p1), all2), 15_000)
    const v1b = (await view(p1))!
    assert.equal(v1b.restored, 6, 'all six notes came from IndexedDB')
    assert.equal(v1b.id, v1.id, 'the node id came back from IndexedDB')
    assert.equal(v1b.db, 'page-1')

    // A daemon with another network key: the page is refused and the daemon learns nothing.
    const dataB = join(dir, 'b')
    const peerB = `ws://127.0.0.1:${await freePort()}`
    const intruder = await startDaemon(dataB, 'other', 'another-network', peerB)
    await p1.goto(web.pageUrl({ peer: peerB, key, db: 'page-1' }))
    await until('the page refused twice by the other daemon', async () => ((await view(p1))?.authErrors ?? 0) >= 2)
    assert.equal((await view(p1))!.daemon, 'refused: wrong network key')
    r = await hearsay(['get', '--data', dataB, 'notes'])
    assert.equal(r.code, 4, `the other daemon has no notes: ${r.stdout}${r.stderr}`)
    r = await hearsay(['ls', '--data', dataB, '--json'])
    assert.deepEqual((JSON.parse(r.stdout) as Array<{ id: string }>).map((o) => o.id), [])
    assert.doesNotMatch(intruder.output, /peer \S+ connected/)
    assert.deepEqual(await pageTexts(p1), all2, 'the page keeps its notes')
    assert.deepEqual(errors, [], 'no page errors')
  } finally {
    await chromium.close()
    await web.close()
    for (const d of daemons) await d.stop('SIGKILL')
    await cleanup()
  }
})
