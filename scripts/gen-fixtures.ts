// Regenerates the golden fixtures in test/fixtures/: one encoded state per replicated type,
// with the value it must decode to. Only run this when an encoding changes on purpose, and
// say so in the changelog: old fixtures that stop decoding are a compatibility break.
// Usage: npx tsx --conditions=source scripts/gen-fixtures.ts
import { writeFileSync } from 'node:fs'
import { LWWRegister, LWWMap, GSet, ORSet, PNCounter, EventLog, Doc } from '@hearsay/model'
import { List, Text } from '@hearsay/seq'
import type { Replicated, ReplicatedOptions, Value } from '@hearsay/core'

const T0 = 1_700_000_000_000
const opts = (id: string): ReplicatedOptions => {
  let t = T0
  return { id, now: () => (t += 7) }
}

function merged<R extends Replicated<any>>(make: (o: ReplicatedOptions) => R, writeA: (r: R) => void, writeB: (r: R) => void): R {
  const a = make(opts('alice'))
  const b = make(opts('bob'))
  writeA(a)
  writeB(b)
  a.applyRanges(b.historySince(a.clock))
  b.applyRanges(a.historySince(b.clock))
  return a
}

const fixtures: Record<string, Replicated<any>> = {
  'lww-register': merged((o) => new LWWRegister<Value>(o), (r) => r.set({ n: 1 }), (r) => r.set('bob wins later')),
  'lww-map': merged(
    (o) => new LWWMap<Value>(o),
    (m) => (m.set('a', 1), m.set('b', [1, 'two', null]), m.set('c', { nested: true }), m.delete('a')),
    (m) => (m.set('d', 2.5), m.set('b', 'bob')),
  ),
  'g-set': merged((o) => new GSet<Value>(o), (s) => (s.add('x'), s.add(1)), (s) => (s.add('x'), s.add({ k: 'v' }))),
  'or-set': merged((o) => new ORSet<Value>(o), (s) => (s.add('keep'), s.add('gone'), s.delete('gone')), (s) => s.add('bob')),
  'pn-counter': merged((o) => new PNCounter(o), (c) => (c.increment(10), c.decrement(3)), (c) => c.increment(5)),
  'event-log': merged((o) => new EventLog<Value>(o), (l) => (l.append('first'), l.append({ second: 2 })), (l) => l.append('bob')),
  doc: merged(
    (o) => new Doc(o),
    (d) => {
      const todo = d.createSeq('list', 'todo')
      todo.push({ id: 'beer', text: 'beer' })
      todo.push({ id: 'meet', text: 'meet' })
    },
    (d) => d.add({ id: 'note', text: 'from bob' }),
  ),
  list: merged((o) => new List<Value>(o), (l) => (l.push('a', 'b', 'c'), l.delete(1, 1), l.move(0, 1)), (l) => l.push(1, 2)),
  text: merged((o) => new Text(o), (t) => (t.insert(0, 'hello world'), t.delete(5, 6), t.insert(5, ' there')), (t) => t.insert(0, 'bob: ')),
}

for (const [name, r] of Object.entries(fixtures)) {
  const file = new URL(`../test/fixtures/${name}.json`, import.meta.url)
  const body = { typeName: r.typeName, typeId: r.typeId, value: r.toJSON(), state: Buffer.from(r.encodeState()).toString('base64') }
  writeFileSync(file, JSON.stringify(body, null, 2) + '\n')
  console.log(`${name}: ${r.encodeState().length} bytes`)
}
