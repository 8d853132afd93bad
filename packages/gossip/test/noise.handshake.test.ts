// The handshake state machine as an attacker drives it (fast-check, seeded: SEED replays).
// The attacker holds recordings of other sessions of the same network (with and without the
// psk), the victim's own messages (to reflect them), and can truncate, extend, flip bits,
// reorder and replay. The victim must never complete a handshake whose peer did not take part
// in it with the psk, and any call out of turn is refused.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { testSeed } from '@hearsay/core/testing'
import { HandshakeState, SHA256, XXpsk3, keyPairFromSecret, type KeyPair } from '../src/secure/noise.js'

const seed = testSeed()
const runs = Number(process.env.HEARSAY_RUNS ?? 200)
let counter = 1
/** Deterministic "random" bytes for keys (distinct per call); the attacker's choices come from fast-check. */
const det = (n: number) => {
  const out = new Uint8Array(n)
  let x = (seed ^ (counter++ * 0x9e3779b1)) >>> 0
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0
    out[i] = x >>> 24
  }
  return out
}
const psk = det(32)
const prologue = new TextEncoder().encode('hearsay-gossip/2')
const node = (): KeyPair => keyPairFromSecret(det(32))

function side(initiator: boolean, s: KeyPair, key = psk) {
  return new HandshakeState({ pattern: XXpsk3, hash: SHA256, initiator, prologue, s, psk: key, randomBytes: det })
}

/** An honest session between two fresh nodes: its three messages and its first transport message each way. */
function recordSession(key = psk) {
  const i = side(true, node(), key)
  const r = side(false, node(), key)
  const m1 = i.writeMessage()
  r.readMessage(m1)
  const m2 = r.writeMessage()
  i.readMessage(m2)
  const m3 = i.writeMessage()
  let t1: Uint8Array | undefined
  let t2: Uint8Array | undefined
  try {
    r.readMessage(m3)
    t1 = i.result!.send.encryptWithAd(new Uint8Array(0), new Uint8Array([1, 2, 3]))
    t2 = r.result!.send.encryptWithAd(new Uint8Array(0), new Uint8Array([4, 5, 6]))
  } catch {
    // a session with two different psks stops here
  }
  return [m1, m2, m3, ...(t1 ? [t1] : []), ...(t2 ? [t2] : [])]
}

const recordings = [recordSession(), recordSession(), recordSession(det(32))]

/** What the attacker sends next: a recorded or reflected message, possibly altered. */
const inputArb = fc.record({
  from: fc.constantFrom('recorded', 'reflected'),
  pick: fc.nat(),
  alter: fc.constantFrom('none', 'flip', 'truncate', 'extend'),
  at: fc.nat(),
})
type Input = { from: string; pick: number; alter: string; at: number }

function build(input: Input, own: Uint8Array[]): Uint8Array {
  const pool = input.from === 'reflected' && own.length > 0 ? own : recordings.flat()
  const m = pool[input.pick % pool.length]!.slice()
  if (input.alter === 'flip') m[input.at % m.length]! ^= 1 << (input.at % 8)
  if (input.alter === 'truncate') return m.subarray(0, input.at % m.length)
  if (input.alter === 'extend') return new Uint8Array([...m, input.at & 255])
  return m
}

test(`a responder never completes a handshake from recorded, reflected or altered messages (SEED=${seed})`, () => {
  fc.assert(
    fc.property(inputArb, inputArb, (first, third) => {
      const r = side(false, node())
      const own: Uint8Array[] = []
      try {
        r.readMessage(build(first, own))
        own.push(r.writeMessage())
        r.readMessage(build(third, own))
      } catch {
        assert.equal(r.result, undefined)
        return
      }
      assert.fail('the responder completed a handshake nobody with the psk took part in')
    }),
    { seed, numRuns: runs },
  )
})

test(`an initiator never accepts a sealed frame after recorded, reflected or altered replies (SEED=${seed})`, () => {
  fc.assert(
    fc.property(inputArb, inputArb, (second, fourth) => {
      const i = side(true, node())
      const own: Uint8Array[] = [i.writeMessage()]
      try {
        i.readMessage(build(second, own))
        own.push(i.writeMessage())
        i.result!.receive.decryptWithAd(new Uint8Array(0), build(fourth, own))
      } catch {
        return
      }
      assert.fail('the initiator accepted a frame from a peer that did not take part with the psk')
    }),
    { seed, numRuns: runs },
  )
})

test(`between two honest nodes, any one altered, dropped, repeated or reordered message is refused (SEED=${seed})`, () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 4 }), fc.constantFrom('flip', 'truncate', 'extend', 'replay', 'swap'), fc.nat(), (victim, how, at) => {
      const i = side(true, node())
      const r = side(false, node())
      // The honest schedule: m1 i→r, m2 r→i, m3 i→r, then one transport frame each way.
      const steps: Array<{ write: () => Uint8Array; read: (m: Uint8Array) => unknown }> = [
        { write: () => i.writeMessage(), read: (m) => r.readMessage(m) },
        { write: () => r.writeMessage(), read: (m) => i.readMessage(m) },
        { write: () => i.writeMessage(), read: (m) => r.readMessage(m) },
        { write: () => i.result!.send.encryptWithAd(new Uint8Array(0), new Uint8Array([7])), read: (m) => r.result!.receive.decryptWithAd(new Uint8Array(0), m) },
        { write: () => r.result!.send.encryptWithAd(new Uint8Array(0), new Uint8Array([8])), read: (m) => i.result!.receive.decryptWithAd(new Uint8Array(0), m) },
      ]
      const sent: Uint8Array[] = []
      let refused = false
      try {
        steps.forEach((s, k) => {
          const m = s.write()
          sent.push(m)
          let x = m
          if (k === victim) {
            if (how === 'flip') (x = m.slice())[at % m.length]! ^= 1 << (at % 8)
            else if (how === 'truncate') x = m.subarray(0, at % m.length)
            else if (how === 'extend') x = new Uint8Array([...m, at & 255])
            else if (how === 'replay') x = sent[at % sent.length]!
            else x = sent[(k + 1) % sent.length] ?? sent[0]!
            if (x === m) x = new Uint8Array([...m, 0]) // a "replay" of itself is no alteration
          }
          s.read(x)
        })
      } catch {
        refused = true
      }
      assert.ok(refused, `alteration ${how} of message ${victim + 1} went through`)
    }),
    { seed, numRuns: Math.ceil(runs / 4) },
  )
})

test('calls out of turn are refused, and a failed handshake stays failed', () => {
  const i = side(true, node())
  const r = side(false, node())
  assert.throws(() => i.readMessage(new Uint8Array(48)), /out of turn/)
  assert.throws(() => r.writeMessage(), /not our turn/)
  const m1 = i.writeMessage()
  assert.throws(() => i.writeMessage(), /not our turn/)
  r.readMessage(m1)
  const m2 = r.writeMessage()
  const bad = m2.slice()
  bad[40]! ^= 1
  assert.throws(() => i.readMessage(bad))
  assert.throws(() => i.readMessage(m2), /already failed/)
  assert.equal(i.result, undefined)
})
