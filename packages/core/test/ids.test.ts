import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ErrorCodes, MAX_REPLICA_ID_LENGTH, VersionVector, isReplicaId, isSafeName, toReplicaId, readVersionVector, writeVersionVector, encoding, decoding, isHearsayError } from '@hearsay/core'

test('safe names: ordinary text of any script is accepted, up to the length', () => {
  for (const s of ['a', 'notes', 'prix-2026.12', 'café', '東京', 'نص', '😀 emoji', 'a b', 'x'.repeat(MAX_REPLICA_ID_LENGTH)]) {
    assert.ok(isSafeName(s, MAX_REPLICA_ID_LENGTH), JSON.stringify(s))
    assert.equal(toReplicaId(s), s)
  }
})

test('safe names refuse what a peer would read differently or what forges a terminal line', () => {
  const bad = [
    '',
    'x'.repeat(MAX_REPLICA_ID_LENGTH + 1),
    'lone \ud800 high',
    'lone \udc00 low',
    'tail\ud83d',
    'new\nline',
    'carriage\rreturn',
    'tab\t',
    'nul\u0000',
    'esc\u001b[2J',
    'del\u007f',
    'c1\u0085',
    'csi\u009b',
    'ls\u2028',
    'ps\u2029',
    'rlo\u202e',
    'lre\u202a',
    'isolate\u2066',
    'pdi\u2069',
  ]
  for (const s of bad) {
    assert.equal(isSafeName(s, MAX_REPLICA_ID_LENGTH), false, JSON.stringify(s))
    assert.equal(isReplicaId(s), false, JSON.stringify(s))
    assert.throws(() => toReplicaId(s), TypeError, JSON.stringify(s))
  }
  for (const v of [undefined, null, 3, {}, ['a']]) assert.equal(isSafeName(v, 10), false)
})

test('a replica id with a control character from a peer is a decode error', () => {
  const e = encoding.createEncoder()
  // A vector written by hand: one entry, the source id holding ESC.
  encoding.writeVarUint(e, 1)
  encoding.writeVarString(e, 'evil\u001b[31m')
  encoding.writeVarUint(e, 3)
  assert.throws(
    () => readVersionVector(decoding.createDecoder(encoding.toUint8Array(e))),
    (err: unknown) => isHearsayError(err, ErrorCodes.DECODE_ERROR),
  )
  // The honest encoding still reads back.
  const ok = encoding.createEncoder()
  writeVersionVector(ok, new VersionVector([['café', 2]]))
  assert.equal(readVersionVector(decoding.createDecoder(encoding.toUint8Array(ok))).get('café'), 2)
})
