// `change` events: one composed delta per applied batch, and the composition behind it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate as tick } from 'node:timers/promises'
import { LOCAL_ORIGIN } from '@hearsay/core'
import { withSeed, prng } from '@hearsay/core/testing'
import { checkInvariants, List, Text, applyListDelta, applyTextDelta, composeDeltas, composeEdits, type Delta, type SeqEdit } from '@hearsay/seq'

type PRNG = prng.PRNG

/** Throws unless `d` is canonical: no empty op, no two adjacent ops of a kind, inserts before deletes, no trailing retain. */
function assertCanonical<C extends string | readonly unknown[]>(d: Delta<C>): void {
  let prev = ''
  for (const op of d) {
    const keys = Object.keys(op)
    assert.equal(keys.length, 1, `one key per op: ${JSON.stringify(op)}`)
    const kind = keys[0]!
    if ('retain' in op) assert.ok(Number.isInteger(op.retain) && op.retain > 0, `retain > 0: ${JSON.stringify(d)}`)
    else if ('delete' in op) assert.ok(Number.isInteger(op.delete) && op.delete > 0, `delete > 0: ${JSON.stringify(d)}`)
    else assert.ok(op.insert.length > 0, `insert not empty: ${JSON.stringify(d)}`)
    assert.notEqual(kind, prev, `adjacent ${kind} ops: ${JSON.stringify(d)}`)
    assert.ok(!(prev === 'delete' && kind === 'insert'), `insert before delete: ${JSON.stringify(d)}`)
    prev = kind
  }
  assert.notEqual(prev, 'retain', `no trailing retain: ${JSON.stringify(d)}`)
}

type Pattern = 'random' | 'forward' | 'backspace' | 'forwardDelete' | 'increasing' | 'mixed'
const patterns: readonly Pattern[] = ['random', 'forward', 'backspace', 'forwardDelete', 'increasing', 'mixed']

/**
 * Random edits over a document of `len0` items, following `pattern`, as a list of
 * `{ at, insert | delete }` with positions after the edits before them. `word` makes content.
 */
function randomEdits<C>(rng: PRNG, len0: number, count: number, pattern: Pattern, word: (n: number) => C, size: (c: C) => number): SeqEdit<C>[] {
  const edits: SeqEdit<C>[] = []
  let len = len0
  let cursor = prng.int32(rng, 0, len)
  for (let i = 0; i < count; i++) {
    let p: Pattern = pattern
    if (pattern === 'mixed') p = prng.oneOf(rng, ['random', 'forward', 'backspace', 'forwardDelete', 'increasing'] as const)
    if (cursor > len) cursor = len
    const del = len > 0 && (p === 'backspace' || p === 'forwardDelete' ? prng.int32(rng, 0, 4) > 0 : prng.int32(rng, 0, 2) === 0)
    if (p === 'random') cursor = prng.int32(rng, 0, del ? len - 1 : len)
    if (p === 'increasing') cursor = prng.int32(rng, cursor, Math.max(cursor, del ? len - 1 : len))
    if (del) {
      if (p === 'backspace') cursor = Math.max(0, cursor - 1)
      if (cursor >= len) cursor = len - 1
      const n = Math.min(len - cursor, prng.int32(rng, 1, 3))
      edits.push({ at: cursor, delete: n })
      len -= n
    } else {
      const c = word(prng.int32(rng, 1, 4))
      edits.push({ at: cursor, insert: c })
      len += size(c)
      cursor += size(c)
    }
  }
  return edits
}

function applyTextEdits(text: string, edits: readonly SeqEdit<string>[]): string {
  for (const e of edits) text = e.insert !== undefined ? text.slice(0, e.at) + e.insert + text.slice(e.at) : text.slice(0, e.at) + text.slice(e.at + e.delete)
  return text
}

function applyListEdits<T>(items: readonly T[], edits: readonly SeqEdit<readonly T[]>[]): T[] {
  const out = items.slice()
  for (const e of edits) {
    if (e.insert !== undefined) out.splice(e.at, 0, ...e.insert)
    else out.splice(e.at, e.delete)
  }
  return out
}

test('composeEdits: random edits over random text compose to a canonical delta from before to after', async () => {
  await withSeed('compose text', (rng) => {
    for (let round = 0; round < 600; round++) {
      const pattern = patterns[round % patterns.length]!
      const before = prng.word(rng, 0, 40)
      const edits = randomEdits(rng, before.length, prng.int32(rng, 0, 60), pattern, (n) => prng.word(rng, n, n), (c) => c.length)
      const after = applyTextEdits(before, edits)
      const d = composeEdits(edits)
      assertCanonical(d)
      assert.equal(applyTextDelta(before, d), after, `${pattern}: ${JSON.stringify(edits)} -> ${JSON.stringify(d)}`)
      // With the base length given the result is the same, and checked.
      assert.deepEqual(composeEdits(edits, undefined, before.length), d)
    }
  })
})

test('composeEdits: random edits over random lists, with the list content kind', async () => {
  const kind = { length: (c: readonly number[]) => c.length, slice: (c: readonly number[], s: number, e: number) => c.slice(s, e), append: (a: readonly number[], b: readonly number[]) => a.concat(b) }
  await withSeed('compose list', (rng) => {
    let v = 1000
    for (let round = 0; round < 600; round++) {
      const pattern = patterns[round % patterns.length]!
      const before = Array.from({ length: prng.int32(rng, 0, 40) }, (_, i) => i)
      const edits = randomEdits(rng, before.length, prng.int32(rng, 0, 60), pattern, (n) => Array.from({ length: n }, () => v++), (c) => c.length)
      const frozen = JSON.stringify(edits)
      const after = applyListEdits(before, edits)
      const d = composeEdits(edits, kind, before.length)
      assertCanonical(d)
      assert.deepEqual(applyListDelta(before, d), after, `${pattern}: ${frozen} -> ${JSON.stringify(d)}`)
      // The default content kind handles arrays too, and the edits were not touched.
      assert.deepEqual(composeEdits(edits), d)
      assert.equal(JSON.stringify(edits), frozen)
      // The delta owns its content: mutating it leaves the edits alone.
      for (const op of d) if ('insert' in op) (op.insert as number[]).push(-1)
      assert.equal(JSON.stringify(edits), frozen)
    }
  })
})

test('composeEdits: 100k edits in each common pattern (and random ones) compose correctly', async () => {
  await withSeed('compose big', (rng) => {
    for (const pattern of ['forward', 'backspace', 'forwardDelete', 'increasing', 'mixed', 'random'] as const) {
      const before = prng.word(rng, 2000, 2000)
      const n = pattern === 'random' ? 20_000 : 100_000
      const edits = randomEdits(rng, before.length, n, pattern, (k) => 'abcdefgh'.slice(0, k), (c) => c.length)
      // Apply through an array of chunks: string slicing would be O(n^2) here.
      const after = applyListEdits([...before], edits.map((e) => (e.insert !== undefined ? { at: e.at, insert: [...e.insert] } : e))).join('')
      const d = composeEdits(edits, undefined, before.length)
      assertCanonical(d)
      assert.equal(applyTextDelta(before, d), after, pattern)
    }
  })
})

test('composeEdits: edge cases and errors', () => {
  assert.deepEqual(composeEdits([]), [])
  assert.deepEqual(composeEdits([{ at: 3, insert: 'ab' }, { at: 3, delete: 2 }]), [])
  assert.deepEqual(composeEdits([{ at: 0, insert: '' }, { at: 4, delete: 0 }], undefined, 5), [])
  assert.deepEqual(composeEdits([{ at: 2, delete: 1 }, { at: 2, insert: 'x' }]), [{ retain: 2 }, { insert: 'x' }, { delete: 1 }])
  assert.deepEqual(composeEdits([{ at: 0, insert: 'ab' }, { at: 1, insert: 'X' }]), [{ insert: 'aXb' }])
  assert.deepEqual(composeEdits([{ at: 5, delete: 1 }, { at: 4, delete: 1 }, { at: 3, delete: 1 }]), [{ retain: 3 }, { delete: 3 }])
  assert.deepEqual(composeEdits([{ at: 1, insert: [1] }, { at: 5, insert: [2] }]), [{ retain: 1 }, { insert: [1] }, { retain: 3 }, { insert: [2] }])
  assert.throws(() => composeEdits([{ at: 4, insert: 'x' }], undefined, 3), RangeError)
  assert.throws(() => composeEdits([{ at: 2, delete: 2 }], undefined, 3), RangeError)
  assert.throws(() => composeEdits([{ at: -1, insert: 'x' }]), RangeError)
  assert.throws(() => composeEdits([{ at: 0, delete: 1.5 }]), RangeError)
  assert.throws(() => composeEdits([{ at: 0 } as unknown as SeqEdit<string>]), TypeError)
  assert.throws(() => composeEdits([{ at: 0, insert: 'a', delete: 1 } as unknown as SeqEdit<string>]), TypeError)
  assert.throws(() => composeEdits([null as unknown as SeqEdit<string>]), TypeError)
})

test('composeDeltas: composing two deltas equals applying one after the other', async () => {
  await withSeed('compose deltas', (rng) => {
    for (let round = 0; round < 300; round++) {
      const s0 = prng.word(rng, 0, 30)
      const e1 = randomEdits(rng, s0.length, prng.int32(rng, 0, 12), 'random', (n) => prng.word(rng, n, n), (c) => c.length)
      const s1 = applyTextEdits(s0, e1)
      const e2 = randomEdits(rng, s1.length, prng.int32(rng, 0, 12), 'random', (n) => prng.word(rng, n, n), (c) => c.length)
      const s2 = applyTextEdits(s1, e2)
      const d = composeDeltas(composeEdits(e1), composeEdits(e2))
      assertCanonical(d)
      assert.equal(applyTextDelta(s0, d), s2)
    }
  })
})

/** Records `change` events of a replica. */
function record<C>(r: { on(e: 'change', f: (d: Delta<C>, origin: unknown) => void): unknown }): Array<{ delta: Delta<C>; origin: unknown }> {
  const events: Array<{ delta: Delta<C>; origin: unknown }> = []
  r.on('change', (delta, origin) => events.push({ delta, origin }))
  return events
}

/** Random offline edits on a Text at several places. */
function editText(rng: PRNG, t: Text, n: number): void {
  for (let i = 0; i < n; i++) {
    if (t.length > 0 && prng.int32(rng, 0, 2) === 0) {
      const at = prng.int32(rng, 0, t.length - 1)
      t.delete(at, Math.min(t.length - at, prng.int32(rng, 1, 3)))
    } else t.insert(prng.int32(rng, 0, t.length), prng.word(rng, 1, 4))
  }
}

async function syncByStream(a: { createStream(): NodeJS.ReadWriteStream & { on(e: 'sync', f: () => void): unknown } }, b: typeof a): Promise<void> {
  const sa = a.createStream()
  const sb = b.createStream()
  let synced = 0
  sa.on('sync', () => synced++)
  sb.on('sync', () => synced++)
  sa.pipe(sb).pipe(sa)
  for (let i = 0; i < 200 && synced < 2; i++) await tick()
  assert.equal(synced, 2, 'both sides synced')
  sa.unpipe()
  sb.unpipe()
}

test('Text: a batch of offline edits arrives over a stream as one change event', async () => {
  await withSeed('text stream batch', async (rng) => {
    const a = new Text({ id: 'a' })
    const b = new Text({ id: 'b' })
    a.insert(0, 'The quick brown fox jumps over the lazy dog. '.repeat(4))
    b.applyState(a.encodeState())
    // Offline: a edits all over, b edits a little too.
    editText(rng, a, 300)
    editText(rng, b, 5)
    const before = b.toString()
    const events = record<string>(b)
    await syncByStream(a, b)
    assert.equal(b.toString(), a.toString())
    assert.equal(events.length, 1, 'one event for the batch')
    assertCanonical(events[0]!.delta)
    assert.equal(applyTextDelta(before, events[0]!.delta), b.toString())
    assert.notEqual(events[0]!.origin, LOCAL_ORIGIN)
    checkInvariants(b)
  })
})

test('Text: applyState of a whole document gives one change event from the empty text', async () => {
  await withSeed('text state batch', (rng) => {
    const a = new Text({ id: 'a' })
    const c = new Text({ id: 'c' })
    editText(rng, a, 500)
    editText(rng, c, 200)
    c.applyState(a.encodeState())
    a.applyState(c.encodeState())
    const b = new Text({ id: 'b' })
    const events = record<string>(b)
    b.applyState(a.encodeState())
    assert.equal(events.length, 1)
    assert.equal(events[0]!.origin, 'state')
    assert.deepEqual(events[0]!.delta, [{ insert: a.toString() }])
    // Applying the same state again changes nothing and says nothing.
    b.applyState(a.encodeState())
    assert.equal(events.length, 1)
  })
})

test('List: offline moves, inserts and deletes arrive as one change event (a move is a delete and an insert)', async () => {
  await withSeed('list batch', async (rng) => {
    const a = new List<number>({ id: 'a' })
    const b = new List<number>({ id: 'b' })
    a.insert(0, ...Array.from({ length: 50 }, (_, i) => i))
    b.applyState(a.encodeState())
    let v = 100
    for (let i = 0; i < 200; i++) {
      const k = prng.int32(rng, 0, 3)
      if (k === 0 && a.length > 0) a.delete(prng.int32(rng, 0, a.length - 1))
      else if (k <= 2 && a.length > 1) a.move(prng.int32(rng, 0, a.length - 1), prng.int32(rng, 0, a.length - 1))
      else a.insert(prng.int32(rng, 0, a.length), v++)
    }
    b.move(0, b.length - 1)
    const before = b.toArray()
    const events = record<readonly number[]>(b)
    await syncByStream(a, b)
    assert.deepEqual(b.toArray(), a.toArray())
    assert.equal(events.length, 1)
    assertCanonical(events[0]!.delta)
    assert.deepEqual(applyListDelta(before, events[0]!.delta), b.toArray())

    // A single remote move: a delete and an insert in one delta.
    const c = new List<number>({ id: 'c' })
    c.applyState(b.encodeState())
    const cEvents = record<readonly number[]>(c)
    const x = b.toArray()
    b.move(1, 4)
    c.applyState(b.encodeState())
    assert.equal(cEvents.length, 1)
    const d = cEvents[0]!.delta
    assert.deepEqual(applyListDelta(x, d), b.toArray())
    assert.ok(d.some((op) => 'insert' in op) && d.some((op) => 'delete' in op), `a move deletes and inserts: ${JSON.stringify(d)}`)
  })
})

test('a local edit emits exactly one event with its delta and the local origin', () => {
  const t = new Text({ id: 'a' })
  const events = record<string>(t)
  t.insert(0, 'hello world')
  t.delete(5, 6)
  t.insert(5, '!')
  assert.deepEqual(events, [
    { delta: [{ insert: 'hello world' }], origin: LOCAL_ORIGIN },
    { delta: [{ retain: 5 }, { delete: 6 }], origin: LOCAL_ORIGIN },
    { delta: [{ retain: 5 }, { insert: '!' }], origin: LOCAL_ORIGIN },
  ])
  const l = new List<string>({ id: 'l' })
  const le = record<readonly string[]>(l)
  l.insert(0, 'a', 'b', 'c', 'd')
  l.move(0, 3)
  assert.equal(le.length, 2)
  assert.deepEqual(applyListDelta(['a', 'b', 'c', 'd'], le[1]!.delta), l.toArray())
  assert.equal(le[1]!.origin, LOCAL_ORIGIN)
  // A delta handed out does not alias the list's storage.
  for (const op of le[0]!.delta) if ('insert' in op) (op.insert as string[]).length = 0
  assert.deepEqual(l.toArray(), ['b', 'c', 'd', 'a'])
})

test('listeners added later or removed: nothing is collected without one, later ones start in sync', () => {
  const a = new Text({ id: 'a' })
  const b = new Text({ id: 'b' })
  a.insert(0, 'abcdef')
  b.applyState(a.encodeState())
  // A listener added between batches gets the next batch only.
  const events = record<string>(b)
  const before = b.toString()
  a.insert(3, 'XY')
  a.delete(0, 1)
  b.applyState(a.encodeState())
  assert.equal(events.length, 1)
  assert.equal(applyTextDelta(before, events[0]!.delta), b.toString())
  // Removed: no more events.
  b.removeAllListeners('change')
  a.insert(0, 'zz')
  b.applyState(a.encodeState())
  b.insert(0, 'q')
  assert.equal(events.length, 1)
})

/** A text whose history holds `n` updates from `n` sources (one source's run would travel as one update). */
function manySources(n: number): Text {
  const a = new Text({ id: 'a' })
  for (let i = 0; i < n; i++) {
    const w = new Text({ id: `w${i}` })
    w.applyState(a.encodeState())
    w.insert(i % 2 === 0 ? 0 : w.length, `w${i}`)
    a.applyState(w.encodeState())
  }
  return a
}

test('a listener added by an update handler in the middle of a batch gets the rest of the batch, from the text it saw', () => {
  const a = manySources(10)
  const b = new Text({ id: 'b' })
  let mirror: string | undefined
  let seen = 0
  b.on('update', () => {
    if (++seen !== 4) return
    mirror = b.toString()
    b.on('change', (d: Delta<string>) => (mirror = applyTextDelta(mirror!, d)))
  })
  b.applyState(a.encodeState())
  assert.equal(seen, 10, 'ten updates')
  assert.equal(mirror, b.toString())
  // And a listener removed in the middle of a batch, then added again, does not see a torn delta.
  const c = new Text({ id: 'c' })
  let cm = ''
  const onChange = (d: Delta<string>) => (cm = applyTextDelta(cm, d))
  c.on('change', onChange)
  let n = 0
  c.on('update', () => {
    n++
    if (n === 3) c.off('change', onChange)
    if (n === 6) {
      cm = c.toString()
      c.on('change', onChange)
    }
  })
  c.applyState(a.encodeState())
  assert.equal(n, 10, 'ten updates')
  assert.equal(cm, c.toString())
})

test('an update handler that edits locally in the middle of a batch keeps listeners in sync', () => {
  const a = manySources(10)
  const b = new Text({ id: 'b' })
  let mirror = ''
  b.on('change', (d: Delta<string>) => (mirror = applyTextDelta(mirror, d)))
  let n = 0
  b.on('update', () => {
    if (++n === 5) b.insert(1, '#')
  })
  b.applyState(a.encodeState())
  assert.equal(mirror, b.toString())
  assert.ok(b.toString().includes('#'), 'the handler edited')
})
