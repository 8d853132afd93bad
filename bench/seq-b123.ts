// The crdt-benchmarks B1/B2/B3 definitions (dmonad/crdt-benchmarks), N = 6000, run for hearsay
// and its peers in one process. B1: one author, every update applied to a second replica.
// B2: two replicas start from 100 synced characters, edit concurrently, then exchange one
// message each (a packed history / state diff, the equivalent of one transaction per side). B3.4: √N replicas each insert at index 0 of a list; one replica applies all.
import * as prng from 'lib0/prng'
import { performance } from 'node:perf_hooks'
import { group, type Sample } from './harness.ts'
import { listImpls, textImpls, type Factory, type ListImpl, type TextImpl } from './seq-peers.ts'

const N = Number(process.env['BENCH_N']) || 6000
const only = process.env['BENCH_IMPLS']?.split(',')
// Automerge takes minutes on several of these; it runs with BENCH_SLOW=1 or when named in BENCH_IMPLS.
const slow = process.env['BENCH_SLOW'] === '1'
const pick = <I>(fs: Factory<I>[]) => fs.filter((f) => (only ? only.includes(f.name) : slow || !f.slow))

type TextEdit = { at: number; ins?: string; del?: number }
type ListEdit = { at: number; ins?: number[]; del?: number }

const exposedGc = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc

// Median of 5 loads of the encoded state, each after a minor GC (see bench/seq-load-child.ts:
// without it, whichever load meets the next scavenge pays for everyone's garbage). `spent` is
// the whole time this took, which the sample reports as untimed.
function parseMs<I>(f: Factory<I>, bytes: Uint8Array): { parseMs: string; spent: number } {
  const start = performance.now()
  const times: number[] = []
  for (let i = 0; i < 5; i++) {
    exposedGc?.({ type: 'minor' })
    const t0 = performance.now()
    f.load(bytes)
    times.push(performance.now() - t0)
  }
  return { parseMs: times.sort((a, b) => a - b)[2]!.toFixed(1), spent: performance.now() - start }
}

// A sample's result with its parse time, the parsing left out of the sample's time.
function withParse<I>(f: Factory<I>, state: Uint8Array, sample: Sample & { extra?: Record<string, number | string> }): Sample {
  const p = parseMs(f, state)
  return { ...sample, extra: { ...sample.extra, parseMs: p.parseMs }, untimedMs: p.spent }
}

function b1Text(f: Factory<TextImpl>, edits: TextEdit[], expected: string): Sample {
  const a = f.create('a')
  const b = f.create('b')
  for (const e of edits) {
    if (e.ins !== undefined) a.insert(e.at, e.ins)
    else a.delete(e.at, e.del!)
    for (const u of a.out) b.apply(u)
    a.out.length = 0
  }
  if (a.text() !== expected || b.text() !== expected) throw new Error(`${f.name}: wrong text`)
  const state = a.encode()
  return withParse(f, state, { ops: edits.length, bytes: state.length, keep: [a.keep, b.keep], extra: { avgUpdate: Math.round(a.updateBytes / edits.length) } })
}

function b1List(f: Factory<ListImpl>, edits: ListEdit[], expected: number[]): Sample {
  const a = f.create('a')
  const b = f.create('b')
  for (const e of edits) {
    if (e.ins !== undefined) a.insert(e.at, e.ins)
    else a.delete(e.at, e.del!)
    for (const u of a.out) b.apply(u)
    a.out.length = 0
  }
  const ja = JSON.stringify(a.toArray())
  if (ja !== JSON.stringify(expected) || JSON.stringify(b.toArray()) !== ja) throw new Error(`${f.name}: wrong list`)
  const state = a.encode()
  return withParse(f, state, { ops: edits.length, bytes: state.length, keep: [a.keep, b.keep], extra: { avgUpdate: Math.round(a.updateBytes / edits.length) } })
}

function b2Text(f: Factory<TextImpl>, init: string, e1: TextEdit[], e2: TextEdit[]): Sample {
  const a = f.create('a')
  const b = f.create('b')
  a.insert(0, init)
  f.sync(a, b)
  const play = (d: TextImpl, es: TextEdit[]) => {
    for (const e of es) {
      if (e.ins !== undefined) d.insert(e.at, e.ins)
      else d.delete(e.at, e.del!)
    }
  }
  play(a, e1)
  play(b, e2)
  a.out.length = 0
  b.out.length = 0
  f.sync(a, b)
  f.sync(b, a)
  if (a.text() !== b.text()) throw new Error(`${f.name}: did not converge`)
  const state = a.encode()
  return withParse(f, state, { ops: e1.length + e2.length, bytes: state.length, keep: [a.keep, b.keep] })
}

function b3List(f: Factory<ListImpl>, clients: number): Sample {
  const docs = Array.from({ length: clients }, (_, i) => f.create(`client${i}`))
  for (let i = 0; i < clients; i++) docs[i]!.insert(0, [i])
  const target = docs[0]!
  for (let i = 1; i < clients; i++) for (const u of docs[i]!.out) target.apply(u)
  if (target.toArray().length !== clients) throw new Error(`${f.name}: lost an element`)
  const state = target.encode()
  return withParse(f, state, { ops: clients, bytes: state.length, keep: target.keep })
}

function word(gen: prng.PRNG, min: number, max: number): string {
  return prng.word(gen, min, max)
}

function randomTextEdits(gen: prng.PRNG, start: string, n: number, make: (gen: prng.PRNG, s: string, at: number) => TextEdit): { edits: TextEdit[]; result: string } {
  let s = start
  const edits: TextEdit[] = []
  for (let i = 0; i < n; i++) {
    const at = prng.int32(gen, 0, s.length)
    const e = make(gen, s, at)
    s = e.ins !== undefined ? s.slice(0, at) + e.ins + s.slice(at) : s.slice(0, at) + s.slice(at + e.del!)
    edits.push(e)
  }
  return { edits, result: s }
}

async function runGroup<I>(name: string, impls: Factory<I>[], fn: (f: Factory<I>) => Sample): Promise<void> {
  const g = group(name)
  for (const f of impls) await g.add(f.name, () => fn(f), f.slow ? 1 : undefined)
  g.print()
}

export async function runB1B3(): Promise<void> {
  const gen = prng.create(42)
  const texts = pick(textImpls)
  const lists = pick(listImpls)

  const s11 = word(gen, N, N)
  await runGroup(`[B1.1] Append ${N} characters`, texts, (f) => b1Text(f, [...s11].map((c, i) => ({ at: i, ins: c })), s11))
  const s12 = word(gen, N, N)
  await runGroup(`[B1.2] Insert a string of ${N} characters`, texts, (f) => b1Text(f, [{ at: 0, ins: s12 }], s12))
  const s13 = word(gen, N, N)
  await runGroup(`[B1.3] Prepend ${N} characters`, texts, (f) => b1Text(f, [...s13].reverse().map((c) => ({ at: 0, ins: c })), s13))
  const r14 = randomTextEdits(gen, '', N, (g, _s, at) => ({ at, ins: word(g, 1, 1) }))
  await runGroup(`[B1.4] Insert ${N} characters at random positions`, texts, (f) => b1Text(f, r14.edits, r14.result))
  const r15 = randomTextEdits(gen, '', N, (g, _s, at) => ({ at, ins: word(g, 2, 10) }))
  await runGroup(`[B1.5] Insert ${N} words at random positions`, texts, (f) => b1Text(f, r15.edits, r15.result))
  const s16 = word(gen, N, N)
  await runGroup(`[B1.6] Insert a string of ${N}, then delete it`, texts, (f) => b1Text(f, [{ at: 0, ins: s16 }, { at: 0, del: N }], ''))
  const r17 = randomTextEdits(gen, '', N, (g, s, at) =>
    s.length === at || prng.bool(g) ? { at, ins: word(g, 2, 10) } : { at, del: prng.int32(g, 1, Math.min(9, s.length - at)) },
  )
  await runGroup(`[B1.7] Insert/delete strings at random positions (${N})`, texts, (f) => b1Text(f, r17.edits, r17.result))

  const nums = () => Array.from({ length: N }, () => prng.uint32(gen, 0, 0x7fffffff))
  const n18 = nums()
  await runGroup(`[B1.8] Append ${N} numbers`, lists, (f) => b1List(f, n18.map((v, i) => ({ at: i, ins: [v] })), n18))
  const n19 = nums()
  await runGroup(`[B1.9] Insert an array of ${N} numbers`, lists, (f) => b1List(f, [{ at: 0, ins: n19 }], n19))
  const n110 = nums()
  await runGroup(`[B1.10] Prepend ${N} numbers`, lists, (f) => b1List(f, n110.map((v) => ({ at: 0, ins: [v] })), [...n110].reverse()))
  const n111: number[] = []
  const e111: ListEdit[] = []
  for (let i = 0; i < N; i++) {
    const at = prng.int32(gen, 0, n111.length)
    const v = prng.uint32(gen, 0, 0x7fffffff)
    n111.splice(at, 0, v)
    e111.push({ at, ins: [v] })
  }
  await runGroup(`[B1.11] Insert ${N} numbers at random positions`, lists, (f) => b1List(f, e111, n111))

  const init = word(gen, 100, 100)
  const w1 = word(gen, N, N)
  const w2 = word(gen, N, N)
  await runGroup(`[B2.1] Concurrently insert a string of ${N} at index 0`, texts, (f) => b2Text(f, init, [{ at: 0, ins: w1 }], [{ at: 0, ins: w2 }]))
  const chars = () => randomTextEdits(gen, init, N, (g, _s, at) => ({ at, ins: word(g, 1, 1) })).edits
  const c1 = chars()
  const c2 = chars()
  await runGroup(`[B2.2] Concurrently insert ${N} characters at random positions`, texts, (f) => b2Text(f, init, c1, c2))
  const words = () => randomTextEdits(gen, init, N, (g, _s, at) => ({ at, ins: word(g, 3, 9) })).edits
  const d1 = words()
  const d2 = words()
  await runGroup(`[B2.3] Concurrently insert ${N} words at random positions`, texts, (f) => b2Text(f, init, d1, d2))
  const mixed = () =>
    randomTextEdits(gen, init, N, (g, s, at) => (s.length === at || prng.bool(g) ? { at, ins: word(g, 2, 10) } : { at, del: prng.int32(g, 1, Math.min(9, s.length - at)) })).edits
  const m1 = mixed()
  const m2 = mixed()
  await runGroup(`[B2.4] Concurrently insert & delete (${N})`, texts, (f) => b2Text(f, init, m1, m2))

  const clients = Math.floor(Math.sqrt(N))
  await runGroup(`[B3.4] ${clients} clients concurrently insert at index 0 of a list`, lists, (f) => b3List(f, clients))
}
