import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatLs, formatStatus, formatVector, printable, printableLines } from '../src/format.js'

const raw = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

test('printable writes controls, separators, bidi controls and lone surrogates as escapes', () => {
  assert.equal(printable('plain café 東京 😀'), 'plain café 東京 😀')
  assert.equal(printable('a\nb\r\tc'), 'a\\nb\\r\\tc')
  assert.equal(printable('\u001b[2Jclear'), '\\x1b[2Jclear')
  assert.equal(printable('\u0000\u007f\u0085\u009b'), '\\x00\\x7f\\x85\\x9b')
  assert.equal(printable('\u2028\u2029\u202e\u2066'), '\\u2028\\u2029\\u202e\\u2066')
  assert.equal(printable('hi\ud800 \udc00 \ud83d\ude00'), 'hi\\ud800 \\udc00 😀')
  assert.equal(printableLines('one\ntwo\u001b'), 'one\ntwo\\x1b')
})

test('ls and status tables escape every cell', () => {
  const evil = 'x\u001b[31m\nFAKE\u202e'
  const ls = formatLs([{ id: evil, type: 'LWWMap', size: 1, clock: { [evil]: 2 } }])
  assert.ok(!raw.test(ls) && ls.split('\n').length === 2, ls)
  assert.match(formatVector({ [evil]: 1 }), /x\\x1b\[31m\\nFAKE\\u202e:1/)
  const status = formatStatus({
    id: evil, source: evil, historyAlarms: 1, contentMismatches: 1, contentRepairs: 0, refused: { badSignature: 0, notPermitted: 0, invalid: 0 }, pid: 1, dataDir: evil, listen: [evil], uptimeMs: 5, bytesIn: 0, bytesOut: 0, updatesApplied: 0, pending: 0,
    peers: [{ id: evil, address: evil, state: 'connected', lastSync: null, bytesIn: 0, bytesOut: 0, lag: 0 }],
    objects: [{ id: evil, type: 'LWWMap', size: 1, clock: {} }],
  })
  assert.ok(!raw.test(status), status)
  assert.ok(!status.includes('\nFAKE'), 'no forged line')
  assert.doesNotMatch(status, /REFUSED/, 'nothing refused, no line')
})

test('status names refused updates of signed objects by cause', () => {
  const base = {
    id: 'n', source: 'n.1.AAAAAAAA', historyAlarms: 0, contentMismatches: 0, contentRepairs: 0, pid: 1, dataDir: 'd', listen: [], uptimeMs: 5, bytesIn: 0, bytesOut: 0, updatesApplied: 0, pending: 0, peers: [], objects: [],
  }
  const status = formatStatus({ ...base, refused: { badSignature: 3, notPermitted: 2, invalid: 1 } })
  assert.match(status, /^REFUSED   updates of signed objects: 3 unsigned or badly signed, 2 from writers not permitted, 1 out of chain/m)
})
