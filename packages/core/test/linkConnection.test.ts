import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCodes, MemoryNetwork, MemoryTransport, isHearsayError, linkConnection, type Connection } from '@hearsay/core'
import { TestGSet } from './helpers/types.ts'

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5))
  assert.ok(cond(), `timed out waiting for ${what}`)
}

test('linkConnection replicates over a transport connection, live, and closes with it', async () => {
  const t = new MemoryTransport({ network: new MemoryNetwork() })
  const a = new TestGSet({ id: 'a' })
  const b = new TestGSet({ id: 'b' })
  a.add('from-a')
  b.add('from-b')
  let server: Connection | undefined
  const listener = await t.listen('mem://link', (c) => (server = c))
  const client = await t.connect('mem://link')
  await until('accept', () => server !== undefined)
  const la = linkConnection(a, client)
  const lb = linkConnection(b, server!)
  await until('sync', () => la.synced && lb.synced)
  a.add('live')
  await until('live update', () => b.has('live'))
  assert.deepEqual(a.encodeState(), b.encodeState())
  client.close()
  await until('both links closed', () => la.closed && lb.closed)
  await listener.close()
})

test('a bad frame closes the connection with a typed error and changes nothing', async () => {
  const t = new MemoryTransport({ network: new MemoryNetwork() })
  const b = new TestGSet({ id: 'b' })
  b.add('kept')
  const before = b.encodeState()
  let server: Connection | undefined
  const listener = await t.listen('mem://bad', (c) => (server = c))
  const client = await t.connect('mem://bad')
  await until('accept', () => server !== undefined)
  const why = new Promise<Error | undefined>((resolve) => server!.once('close', resolve))
  const lb = linkConnection(b, server!)
  client.send(new Uint8Array([3, 0, 0, 0, 99, 1, 2]))
  const reason = await why
  assert.ok(isHearsayError(reason, ErrorCodes.DECODE_ERROR), `closed with ${reason}`)
  assert.ok(lb.closed)
  assert.deepEqual(b.encodeState(), before)
  await listener.close()
})
