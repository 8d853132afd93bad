// Adapters that drive every sequence implementation through one small interface, so the seq
// benchmarks run hearsay and its peers side by side. Each replica records the encoded updates
// its local edits produce (`out`) and applies encoded updates from others (`apply`).
import * as Y from 'yjs'
import { LoroDoc } from 'loro-crdt'
import { Doc as DTDoc } from 'diamond-types-node'
import * as Automerge from '@automerge/automerge'
import { Text, List } from '@hearsay/seq'

/** One text replica under test. */
export interface TextImpl {
  insert(pos: number, s: string): void
  delete(pos: number, n: number): void
  text(): string
  /** The whole document, encoded. */
  encode(): Uint8Array
  /** Applies an update produced by another replica of the same implementation. */
  apply(update: Uint8Array): void
  /** Updates produced by local edits, in order (cleared by the caller). */
  out: Uint8Array[]
  /** Total bytes of updates produced. */
  updateBytes: number
  readonly keep: unknown
}

/** One list-of-numbers replica under test. */
export interface ListImpl {
  insert(pos: number, values: number[]): void
  delete(pos: number, n: number): void
  toArray(): unknown[]
  encode(): Uint8Array
  apply(update: Uint8Array): void
  out: Uint8Array[]
  updateBytes: number
  readonly keep: unknown
}

export interface Factory<I> {
  name: string
  create(id: string): I
  /** Parses an encoded document; returns the value reader and the object to keep. */
  load(bytes: Uint8Array): { value(): unknown; keep: unknown }
  /** Brings `to` up to date with `from` in one message. */
  sync(from: I, to: I): void
  /** Too slow for the B4 trace by default (BENCH_SLOW=1 runs it). */
  slow?: boolean
}

function record<I extends { out: Uint8Array[]; updateBytes: number }>(impl: I, u: Uint8Array): void {
  impl.out.push(u)
  impl.updateBytes += u.length
}

function hash(s: string): number {
  let h = 2166136261
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619)
  return (h >>> 0) % 2 ** 31
}

// ---- hearsay ---------------------------------------------------------------------------------

function hearsayCommon<D extends Text | List<number>>(doc: D) {
  return {
    encode: () => doc.encodeState(),
    apply: (u: Uint8Array) => {
      doc.applyRanges(doc.decodeRanges(u) as never, 'net')
    },
    out: [] as Uint8Array[],
    updateBytes: 0,
    keep: doc,
  }
}

function hearsaySync(from: { keep: unknown }, to: { keep: unknown }): void {
  const a = from.keep as Text
  const b = to.keep as Text
  b.applyRanges(b.decodeRanges(a.encodeRanges(a.historySince(b.clock))), 'net')
}

export const hearsayText: Factory<TextImpl> = {
  name: 'hearsay',
  create(id) {
    const doc = new Text({ id })
    const impl: TextImpl = { ...hearsayCommon(doc), insert: (p, s) => doc.insert(p, s), delete: (p, n) => doc.delete(p, n), text: () => doc.toString() }
    doc.on('ranges', (r, origin) => {
      if (origin === 'local') record(impl, doc.encodeRanges(r))
    })
    return impl
  },
  load(bytes) {
    const doc = new Text({ id: 'loader' })
    doc.applyState(bytes)
    return { value: () => doc.toString(), keep: doc }
  },
  sync: hearsaySync,
}

export const hearsayList: Factory<ListImpl> = {
  name: 'hearsay',
  create(id) {
    const doc = new List<number>({ id })
    const impl: ListImpl = { ...hearsayCommon(doc), insert: (p, v) => doc.insert(p, ...v), delete: (p, n) => doc.delete(p, n), toArray: () => doc.toArray() }
    doc.on('ranges', (r, origin) => {
      if (origin === 'local') record(impl, doc.encodeRanges(r))
    })
    return impl
  },
  load(bytes) {
    const doc = new List<number>({ id: 'loader' })
    doc.applyState(bytes)
    return { value: () => doc.toArray(), keep: doc }
  },
  sync: hearsaySync,
}

// ---- Yjs -------------------------------------------------------------------------------------

function yjsDoc(id: string, impl: { out: Uint8Array[]; updateBytes: number }): Y.Doc {
  const doc = new Y.Doc()
  doc.clientID = hash(id)
  doc.on('update', (u: Uint8Array, origin: unknown) => {
    if (origin !== 'remote') record(impl, u)
  })
  return doc
}

function yjsSync(from: { keep: unknown }, to: { keep: unknown }): void {
  const a = from.keep as Y.Doc
  const b = to.keep as Y.Doc
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)), 'remote')
}

export const yjsText: Factory<TextImpl> = {
  name: 'yjs',
  create(id) {
    const impl = { out: [], updateBytes: 0 } as unknown as TextImpl
    const doc = yjsDoc(id, impl)
    const t = doc.getText('text')
    Object.assign(impl, {
      insert: (p: number, s: string) => doc.transact(() => t.insert(p, s)),
      delete: (p: number, n: number) => doc.transact(() => t.delete(p, n)),
      text: () => t.toString(),
      encode: () => Y.encodeStateAsUpdate(doc),
      apply: (u: Uint8Array) => Y.applyUpdate(doc, u, 'remote'),
      keep: doc,
    })
    return impl
  },
  load(bytes) {
    const doc = new Y.Doc()
    Y.applyUpdate(doc, bytes)
    return { value: () => doc.getText('text').toString(), keep: doc }
  },
  sync: yjsSync,
}

export const yjsList: Factory<ListImpl> = {
  name: 'yjs',
  create(id) {
    const impl = { out: [], updateBytes: 0 } as unknown as ListImpl
    const doc = yjsDoc(id, impl)
    const a = doc.getArray<number>('list')
    Object.assign(impl, {
      insert: (p: number, v: number[]) => doc.transact(() => a.insert(p, v)),
      delete: (p: number, n: number) => doc.transact(() => a.delete(p, n)),
      toArray: () => a.toArray(),
      encode: () => Y.encodeStateAsUpdate(doc),
      apply: (u: Uint8Array) => Y.applyUpdate(doc, u, 'remote'),
      keep: doc,
    })
    return impl
  },
  load(bytes) {
    const doc = new Y.Doc()
    Y.applyUpdate(doc, bytes)
    return { value: () => doc.getArray('list').toArray(), keep: doc }
  },
  sync: yjsSync,
}

// ---- Loro ------------------------------------------------------------------------------------

function loroDoc(id: string, impl: { out: Uint8Array[]; updateBytes: number }): LoroDoc {
  const doc = new LoroDoc()
  doc.setPeerId(BigInt(hash(id)))
  doc.subscribeLocalUpdates((u) => record(impl, u))
  return doc
}

function loroSync(from: { keep: unknown }, to: { keep: unknown }): void {
  const a = from.keep as LoroDoc
  const b = to.keep as LoroDoc
  b.import(a.export({ mode: 'update', from: b.oplogVersion() }))
}

export const loroText: Factory<TextImpl> = {
  name: 'loro',
  create(id) {
    const impl = { out: [], updateBytes: 0 } as unknown as TextImpl
    const doc = loroDoc(id, impl)
    const t = doc.getText('text')
    Object.assign(impl, {
      insert: (p: number, s: string) => {
        t.insert(p, s)
        doc.commit()
      },
      delete: (p: number, n: number) => {
        t.delete(p, n)
        doc.commit()
      },
      text: () => t.toString(),
      encode: () => doc.export({ mode: 'snapshot' }),
      apply: (u: Uint8Array) => doc.import(u),
      keep: doc,
    })
    return impl
  },
  load(bytes) {
    const doc = LoroDoc.fromSnapshot(bytes)
    return { value: () => doc.getText('text').toString(), keep: doc }
  },
  sync: loroSync,
}

export const loroList: Factory<ListImpl> = {
  name: 'loro',
  create(id) {
    const impl = { out: [], updateBytes: 0 } as unknown as ListImpl
    const doc = loroDoc(id, impl)
    const l = doc.getList('list')
    Object.assign(impl, {
      insert: (p: number, v: number[]) => {
        for (let i = 0; i < v.length; i++) l.insert(p + i, v[i]!)
        doc.commit()
      },
      delete: (p: number, n: number) => {
        l.delete(p, n)
        doc.commit()
      },
      toArray: () => l.toArray(),
      encode: () => doc.export({ mode: 'snapshot' }),
      apply: (u: Uint8Array) => doc.import(u),
      keep: doc,
    })
    return impl
  },
  load(bytes) {
    const doc = LoroDoc.fromSnapshot(bytes)
    return { value: () => doc.getList('list').toArray(), keep: doc }
  },
  sync: loroSync,
}

// ---- diamond-types (text only) -----------------------------------------------------------------

export const dtText: Factory<TextImpl> = {
  name: 'diamond-types',
  create(id) {
    const doc = new DTDoc(id)
    let version = doc.getLocalVersion()
    const impl = { out: [], updateBytes: 0 } as unknown as TextImpl
    const emit = () => {
      record(impl, doc.getPatchSince(version))
      version = doc.getLocalVersion()
    }
    Object.assign(impl, {
      insert: (p: number, s: string) => {
        doc.ins(p, s)
        emit()
      },
      delete: (p: number, n: number) => {
        doc.del(p, n)
        emit()
      },
      text: () => doc.get(),
      encode: () => doc.toBytes(),
      apply: (u: Uint8Array) => {
        doc.mergeBytes(u)
        version = doc.getLocalVersion()
      },
      keep: doc,
    })
    return impl
  },
  load(bytes) {
    const doc = new DTDoc('loader')
    doc.mergeBytes(bytes)
    return { value: () => doc.get(), keep: doc }
  },
  sync(from, to) {
    to.apply((from.keep as DTDoc).toBytes())
  },
}

// ---- Automerge --------------------------------------------------------------------------------

type AmText = { text: string }
type AmList = { list: number[] }

function amActor(id: string): string {
  return Buffer.from(id).toString('hex').padEnd(32, '0').slice(0, 32)
}

export const automergeText: Factory<TextImpl> = {
  name: 'automerge',
  slow: true,
  create(id) {
    // Every replica starts from the same initial change so they share the text object.
    let doc = Automerge.merge(Automerge.init<AmText>({ actor: amActor(id) }), AM_TEXT_BASE)
    const impl = { out: [], updateBytes: 0 } as unknown as TextImpl
    const emit = () => record(impl, Automerge.getLastLocalChange(doc)!)
    Object.assign(impl, {
      insert: (p: number, s: string) => {
        doc = Automerge.change(doc, (d) => Automerge.splice(d, ['text'], p, 0, s))
        emit()
      },
      delete: (p: number, n: number) => {
        doc = Automerge.change(doc, (d) => Automerge.splice(d, ['text'], p, n))
        emit()
      },
      text: () => doc.text,
      encode: () => Automerge.save(doc),
      apply: (u: Uint8Array) => {
        doc = Automerge.applyChanges(doc, [u])[0]
      },
    })
    Object.defineProperty(impl, 'keep', { get: () => doc })
    return impl
  },
  load(bytes) {
    const doc = Automerge.load<AmText>(bytes)
    return { value: () => doc.text, keep: doc }
  },
  sync(from, to) {
    for (const c of Automerge.getAllChanges(from.keep as Automerge.Doc<AmText>)) to.apply(c)
  },
}

export const automergeList: Factory<ListImpl> = {
  name: 'automerge',
  slow: true,
  create(id) {
    let doc = Automerge.merge(Automerge.init<AmList>({ actor: amActor(id) }), AM_LIST_BASE)
    const impl = { out: [], updateBytes: 0 } as unknown as ListImpl
    const emit = () => record(impl, Automerge.getLastLocalChange(doc)!)
    Object.assign(impl, {
      insert: (p: number, v: number[]) => {
        doc = Automerge.change(doc, (d) => d.list.splice(p, 0, ...v))
        emit()
      },
      delete: (p: number, n: number) => {
        doc = Automerge.change(doc, (d) => d.list.splice(p, n))
        emit()
      },
      toArray: () => [...doc.list],
      encode: () => Automerge.save(doc),
      apply: (u: Uint8Array) => {
        doc = Automerge.applyChanges(doc, [u])[0]
      },
    })
    Object.defineProperty(impl, 'keep', { get: () => doc })
    return impl
  },
  load(bytes) {
    const doc = Automerge.load<AmList>(bytes)
    return { value: () => [...doc.list], keep: doc }
  },
  sync(from, to) {
    for (const c of Automerge.getAllChanges(from.keep as Automerge.Doc<AmList>)) to.apply(c)
  },
}

const AM_TEXT_BASE = Automerge.from<AmText>({ text: '' }, { actor: amActor('base') })
const AM_LIST_BASE = Automerge.from<AmList>({ list: [] }, { actor: amActor('base') })

export const textImpls: Factory<TextImpl>[] = [hearsayText, yjsText, loroText, dtText, automergeText]
export const listImpls: Factory<ListImpl>[] = [hearsayList, yjsList, loroList, automergeList]
