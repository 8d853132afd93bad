// Adapters that drive every sequence implementation through the same small interface, so the
// seq benchmarks run hearsay and its peers side by side.
import * as Y from 'yjs'
import { LoroDoc } from 'loro-crdt'
import { Doc as DTDoc } from 'diamond-types-node'
import * as Automerge from '@automerge/automerge'
import { Text, List } from '@hearsay/seq'

/** A text replica under test. `flush` returns the bytes of the update the last edit produced. */
export interface TextImpl {
  insert(pos: number, s: string): void
  delete(pos: number, n: number): void
  text(): string
  encode(): Uint8Array
  /** Bytes of updates emitted so far. */
  updateBytes: number
  keep: unknown
}

export interface TextFactory {
  name: string
  create(id: string): TextImpl
  load(bytes: Uint8Array): { text(): string; keep: unknown }
  /** Brings `to` up to date with `from` (both created by this factory). */
  sync?(from: TextImpl, to: TextImpl): void
  slow?: boolean
}

export const hearsayText: TextFactory = {
  name: 'hearsay',
  create(id) {
    const doc = new Text({ id })
    const impl: TextImpl = {
      insert: (p, s) => doc.insert(p, s),
      delete: (p, n) => doc.delete(p, n),
      text: () => doc.toString(),
      encode: () => doc.encodeState(),
      updateBytes: 0,
      keep: doc,
    }
    doc.on('ranges', (r) => {
      impl.updateBytes += doc.encodeRanges(r).length
    })
    return impl
  },
  load(bytes) {
    const doc = new Text({ id: 'loader' })
    doc.applyState(bytes)
    return { text: () => doc.toString(), keep: doc }
  },
  sync(from, to) {
    const a = from.keep as Text
    const b = to.keep as Text
    b.applyRanges(b.decodeRanges(a.encodeRanges(a.historySince(b.clock))))
  },
}

export const yjsText: TextFactory = {
  name: 'yjs',
  create(id) {
    const doc = new Y.Doc()
    doc.clientID = hash(id)
    const t = doc.getText('text')
    const impl: TextImpl = {
      insert: (p, s) => doc.transact(() => t.insert(p, s)),
      delete: (p, n) => doc.transact(() => t.delete(p, n)),
      text: () => t.toString(),
      encode: () => Y.encodeStateAsUpdate(doc),
      updateBytes: 0,
      keep: doc,
    }
    doc.on('update', (u: Uint8Array) => {
      impl.updateBytes += u.length
    })
    return impl
  },
  load(bytes) {
    const doc = new Y.Doc()
    Y.applyUpdate(doc, bytes)
    return { text: () => doc.getText('text').toString(), keep: doc }
  },
  sync(from, to) {
    const a = from.keep as Y.Doc
    const b = to.keep as Y.Doc
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
  },
}

export const loroText: TextFactory = {
  name: 'loro',
  create(id) {
    const doc = new LoroDoc()
    doc.setPeerId(BigInt(hash(id)))
    const t = doc.getText('text')
    const impl: TextImpl = {
      insert: (p, s) => {
        t.insert(p, s)
        doc.commit()
      },
      delete: (p, n) => {
        t.delete(p, n)
        doc.commit()
      },
      text: () => t.toString(),
      encode: () => doc.export({ mode: 'snapshot' }),
      updateBytes: 0,
      keep: doc,
    }
    doc.subscribeLocalUpdates((u) => {
      impl.updateBytes += u.length
    })
    return impl
  },
  load(bytes) {
    const doc = LoroDoc.fromSnapshot(bytes)
    return { text: () => doc.getText('text').toString(), keep: doc }
  },
  sync(from, to) {
    const a = from.keep as LoroDoc
    const b = to.keep as LoroDoc
    b.import(a.export({ mode: 'update', from: b.oplogVersion() }))
  },
}

export const dtText: TextFactory = {
  name: 'diamond-types',
  create(id) {
    const doc = new DTDoc(id)
    let version = doc.getLocalVersion()
    const impl: TextImpl = {
      insert: (p, s) => {
        doc.ins(p, s)
        impl.updateBytes += doc.getPatchSince(version).length
        version = doc.getLocalVersion()
      },
      delete: (p, n) => {
        doc.del(p, n)
        impl.updateBytes += doc.getPatchSince(version).length
        version = doc.getLocalVersion()
      },
      text: () => doc.get(),
      encode: () => doc.toBytes(),
      updateBytes: 0,
      keep: doc,
    }
    return impl
  },
  load(bytes) {
    const doc = new DTDoc('loader')
    doc.mergeBytes(bytes)
    return { text: () => doc.get(), keep: doc }
  },
  sync(from, to) {
    const a = from.keep as DTDoc
    const b = to.keep as DTDoc
    b.mergeBytes(a.toBytes())
  },
}

export const automergeText: TextFactory = {
  name: 'automerge',
  slow: true,
  create(id) {
    let doc = Automerge.from<{ text: string }>({ text: '' }, { actor: Buffer.from(id.padEnd(16, '0')).toString('hex').slice(0, 32) })
    const impl: TextImpl = {
      insert: (p, s) => {
        doc = Automerge.change(doc, (d) => Automerge.splice(d, ['text'], p, 0, s))
        impl.updateBytes += Automerge.getLastLocalChange(doc)?.length ?? 0
      },
      delete: (p, n) => {
        doc = Automerge.change(doc, (d) => Automerge.splice(d, ['text'], p, n))
        impl.updateBytes += Automerge.getLastLocalChange(doc)?.length ?? 0
      },
      text: () => doc.text,
      encode: () => Automerge.save(doc),
      updateBytes: 0,
      get keep() {
        return doc
      },
    }
    return impl
  },
  load(bytes) {
    const doc = Automerge.load<{ text: string }>(bytes)
    return { text: () => doc.text, keep: doc }
  },
}

export const textImpls: TextFactory[] = [hearsayText, yjsText, loroText, dtText, automergeText]

/** A list replica under test (hearsay List, Y.Array, Loro list, Automerge list). */
export interface ListImpl {
  insert(pos: number, values: number[]): void
  delete(pos: number, n: number): void
  toArray(): number[]
  encode(): Uint8Array
  keep: unknown
}

export interface ListFactory {
  name: string
  create(id: string): ListImpl
  load(bytes: Uint8Array): { toArray(): unknown[]; keep: unknown }
  slow?: boolean
}

export const listImpls: ListFactory[] = [
  {
    name: 'hearsay',
    create(id) {
      const l = new List<number>({ id })
      return { insert: (p, v) => l.insert(p, ...v), delete: (p, n) => l.delete(p, n), toArray: () => l.toArray(), encode: () => l.encodeState(), keep: l }
    },
    load(bytes) {
      const l = new List<number>({ id: 'loader' })
      l.applyState(bytes)
      return { toArray: () => l.toArray(), keep: l }
    },
  },
  {
    name: 'yjs',
    create(id) {
      const doc = new Y.Doc()
      doc.clientID = hash(id)
      const a = doc.getArray<number>('list')
      return {
        insert: (p, v) => doc.transact(() => a.insert(p, v)),
        delete: (p, n) => doc.transact(() => a.delete(p, n)),
        toArray: () => a.toArray(),
        encode: () => Y.encodeStateAsUpdate(doc),
        keep: doc,
      }
    },
    load(bytes) {
      const doc = new Y.Doc()
      Y.applyUpdate(doc, bytes)
      return { toArray: () => doc.getArray('list').toArray(), keep: doc }
    },
  },
  {
    name: 'loro',
    create(id) {
      const doc = new LoroDoc()
      doc.setPeerId(BigInt(hash(id)))
      const l = doc.getList('list')
      return {
        insert: (p, v) => {
          for (let i = 0; i < v.length; i++) l.insert(p + i, v[i]!)
          doc.commit()
        },
        delete: (p, n) => {
          l.delete(p, n)
          doc.commit()
        },
        toArray: () => l.toArray() as number[],
        encode: () => doc.export({ mode: 'snapshot' }),
        keep: doc,
      }
    },
    load(bytes) {
      const doc = LoroDoc.fromSnapshot(bytes)
      return { toArray: () => doc.getList('list').toArray(), keep: doc }
    },
  },
]

function hash(s: string): number {
  let h = 2166136261
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619)
  return (h >>> 0) % 2 ** 31
}
