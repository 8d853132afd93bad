// The README's complete examples (the ```ts blocks that import @hearsay/model) run as written.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const readme = readFileSync(join(here, '../README.md'), 'utf8')
const entry = join(here, '../src/index.ts')
const tsx = fileURLToPath(import.meta.resolve('tsx'))

const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => b.includes("from '@hearsay/model'"))

test('README has complete examples', () => {
  assert.ok(blocks.length >= 3)
})

blocks.forEach((block, i) => {
  test(`README example ${i + 1} runs`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearsay-readme-'))
    try {
      const file = join(dir, 'example.mts')
      writeFileSync(file, block.replaceAll("'@hearsay/model'", JSON.stringify(entry)) + '\nsetTimeout(() => process.exit(0), 100)\n')
      const r = spawnSync(process.execPath, ['--conditions=source', '--import', tsx, file], { cwd: dir, encoding: 'utf8', timeout: 30_000 })
      assert.equal(r.status, 0, r.stderr)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
