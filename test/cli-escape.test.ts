// Names and values written by one peer reach another's terminal escaped (issue 15 part 6): a
// key holding ESC sequences, line breaks and a right-to-left override crosses the wire from
// daemon A to daemon B, and B's `get`, `watch`, `ls` and daemon log print it on one line with
// the characters written as escapes. An object id with a control character is refused at once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Running, hearsay, tempDir } from './helpers/cli.ts'

const raw = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/
const evilKey = 'k\u001b[2J\n12:00:00 peer admin connected\u202e'
const evilValue = 'v\u001b]0;pwned\u0007\r\u2028end'

test('peer-supplied keys and values print escaped; an object id with a control character is refused', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = await tempDir('escape')
  const running: Running[] = []
  try {
    const a = new Running(['peer', '--data', `${dir}/a`, '--key', 'k', '--listen', 'tcp://127.0.0.1:0', '--interval', '200ms'])
    running.push(a)
    const [, url] = await a.waitFor(/listening on (tcp:\/\/127\.0\.0\.1:\d+)/)
    const b = new Running(['peer', '--data', `${dir}/b`, '--key', 'k', '--peer', url!, '--interval', '200ms'])
    running.push(b)
    await b.waitFor(/peer \S+ connected/)
    const watch = new Running(['watch', '--data', `${dir}/b`, 'notes'])
    running.push(watch)
    await watch.waitFor(/watching notes/)

    let r = await hearsay(['put', '--data', `${dir}/a`, '--string', 'notes', evilKey, evilValue])
    assert.equal(r.code, 0, r.stderr)
    await watch.waitFor(/12:00:00 peer admin connected/)
    assert.ok(!raw.test(watch.output), `watch printed a raw control: ${JSON.stringify(watch.output)}`)
    assert.ok(!/\n12:00:00 peer admin/.test(watch.output), 'the forged line is not a line')
    assert.match(watch.output, /k\\x1b\[2J\\n12:00:00 peer admin connected\\u202e "v\\u001b\]0;pwned\\u0007\\r\\u2028end"/)

    for (const args of [['get', '--data', `${dir}/b`, 'notes'], ['get', '--data', `${dir}/b`, 'notes', evilKey], ['ls', '--data', `${dir}/b`], ['status', '--data', `${dir}/b`]]) {
      r = await hearsay(args)
      assert.equal(r.code, 0, r.stderr)
      assert.ok(!raw.test(r.stdout), `${args[0]} printed a raw control: ${JSON.stringify(r.stdout)}`)
    }
    // --json stays JSON, and gives the exact value back.
    r = await hearsay(['get', '--data', `${dir}/b`, 'notes'])
    assert.deepEqual(JSON.parse(r.stdout), { [evilKey]: evilValue })

    r = await hearsay(['put', '--data', `${dir}/a`, 'bad\u001b[31mobject', 'k', '1'])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /object id/)
    assert.ok(!raw.test(a.output) && !raw.test(b.output), 'daemon logs hold no raw control')
  } finally {
    for (const p of running) await p.stop('SIGKILL')
    await cleanup()
  }
})
