import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isNewer } from '@hearsay/model'

const u = (time: number, source: string, seq = 1) => ({ time, source, seq, op: null }) as never

test('isNewer orders by time, then source, then seq, and is a strict total order', () => {
  assert.ok(isNewer(u(2, 'a'), u(1, 'z')))
  assert.ok(isNewer(u(1, 'b'), u(1, 'a')))
  assert.ok(isNewer(u(1, 'a', 2), u(1, 'a', 1)))
  assert.ok(!isNewer(u(1, 'a'), u(1, 'a')))
  const all = [u(1, 'a'), u(1, 'b'), u(2, 'a'), u(1, 'a', 2)]
  for (const x of all) for (const y of all) if (x !== y) assert.notEqual(isNewer(x, y), isNewer(y, x))
})
