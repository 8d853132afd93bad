import type { PendingRange, Rejection, Replicated } from './Replicated.js'
import type { Dot } from './VersionVector.js'
import type { Update } from './update.js'
import type { ReplicaId } from './ids.js'

/** A seq range of one source that one replica has and the other lacks. */
export interface MissingRange {
  /** The replica that lacks the range (its id). */
  readonly lacking: ReplicaId
  readonly source: ReplicaId
  /** The range `(from, to]`: the lacking replica's clock entry, the other's. */
  readonly from: number
  readonly to: number
}

/** Updates waiting in a replica's causal buffer, and the dot they wait for. */
export interface BufferedRange extends PendingRange {
  /** The replica whose buffer holds them. */
  readonly replica: ReplicaId
  /** Which of the two replicas has the awaited dot (none: it must come from elsewhere). */
  readonly heldBy: ReplicaId[]
}

/** An update a replica refused, and why. */
export interface RefusedUpdate {
  readonly replica: ReplicaId
  readonly code: string
  readonly message: string
  readonly dot: Dot | undefined
}

/** A dot whose update differs between two replicas whose vectors are equal. */
export interface ContentDifference {
  readonly dot: Dot
  /** Which replica keeps it (both: they keep different ops under one dot). */
  readonly keptBy: ReplicaId[]
}

/** What {@link explainDivergence} found. */
export interface DivergenceReport {
  /** True when the vectors are equal, nothing waits or was refused, and the states encode to the same bytes. */
  readonly converged: boolean
  readonly missing: readonly MissingRange[]
  readonly buffered: readonly BufferedRange[]
  readonly refused: readonly RefusedUpdate[]
  /** Equal vectors hiding different content (empty unless the vectors are equal). */
  readonly contentDiffers: boolean
  readonly differences: readonly ContentDifference[]
  /** The report in sentences, one per line. */
  readonly lines: readonly string[]
}

const dotText = (d: Dot) => `${d.source}:${d.seq}`

/**
 * What {@link explainFacts} needs to know of one replica: plain data, so it can come from
 * another process (`hearsay explain` asks two daemons for theirs). {@link replicaFacts} reads
 * it from a replica in process.
 */
export interface ReplicaFacts {
  readonly id: ReplicaId
  /** The replica's version vector, source → highest seq. */
  readonly clock: Readonly<Record<string, number>>
  readonly pending: readonly PendingRange[]
  readonly rejections: readonly Rejection[]
  /** `encodeState()`. */
  readonly state: Uint8Array
  /**
   * Each kept update encoded alone, by dot (`seq` NUL `source`), to say which dots differ when
   * equal vectors hide different content. Optional: without it the report says only that the
   * states differ.
   */
  readonly kept?: ReadonlyMap<string, Uint8Array>
}

/**
 * The facts {@link explainFacts} reads of `r`; `kept` only when asked (it encodes every kept
 * update once). Never changes `r`.
 */
export function replicaFacts(r: Replicated<any>, options: { kept?: boolean } = {}): ReplicaFacts {
  const base = { id: r.id, clock: Object.fromEntries(r.clock.entries()), pending: r.pendingRanges(), rejections: [...r.rejections], state: r.encodeState() }
  return options.kept === true ? { ...base, kept: keptUpdates(r) } : base
}

/**
 * Why two replicas of one type are not converged: which sources and seq ranges one lacks,
 * which updates wait in a causal buffer and for which missing dot, which updates were refused
 * and why (the replicas' last refusals: drift, invalid, buffer overflow), and whether equal
 * vectors hide different content (then which dots differ). In-process only: it reads both
 * replicas (see {@link explainFacts} for replicas in other processes). Never changes either.
 *
 * @example
 * ```ts
 * const report = explainDivergence(a, b)
 * if (!report.converged) console.log(report.lines.join('\n'))
 * // b lacks a (2, 5]
 * // b holds a (5, 6] (1 update) in its causal buffer, waiting for a:3 (gap); a has it
 * ```
 */
export function explainDivergence(a: Replicated<any>, b: Replicated<any>): DivergenceReport {
  const fa = replicaFacts(a)
  const fb = replicaFacts(b)
  // The per-dot detail is only worth encoding when equal vectors hide different content.
  const detail = sameVector(fa.clock, fb.clock) && !sameBytes(fa.state, fb.state)
  return explainFacts(detail ? { ...fa, kept: keptUpdates(a) } : fa, detail ? { ...fb, kept: keptUpdates(b) } : fb)
}

/** {@link explainDivergence} over {@link ReplicaFacts}, wherever they came from. */
export function explainFacts(a: ReplicaFacts, b: ReplicaFacts): DivergenceReport {
  const lines: string[] = []
  const missing: MissingRange[] = []
  const at = (f: ReplicaFacts, s: string): number => f.clock[s] ?? 0
  const sources = new Set<string>([...Object.keys(a.clock), ...Object.keys(b.clock)])
  for (const s of [...sources].sort() as ReplicaId[]) {
    const ha = at(a, s)
    const hb = at(b, s)
    if (ha > hb) missing.push({ lacking: b.id, source: s, from: hb, to: ha })
    else if (hb > ha) missing.push({ lacking: a.id, source: s, from: ha, to: hb })
  }
  for (const m of missing) lines.push(`${m.lacking} lacks ${m.source} (${m.from}, ${m.to}]${m.to - m.from === 1 ? '' : ` (${m.to - m.from} seqs)`}`)
  const buffered: BufferedRange[] = []
  for (const r of [a, b]) {
    for (const p of r.pending) {
      const heldBy = [a, b].filter((x) => at(x, p.waitsFor.source) >= p.waitsFor.seq).map((x) => x.id)
      buffered.push({ replica: r.id, ...p, heldBy })
    }
  }
  for (const p of buffered) {
    const who = p.heldBy.length > 0 ? `${p.heldBy.join(' and ')} ${p.heldBy.length > 1 ? 'have' : 'has'} it` : 'neither has it'
    lines.push(`${p.replica} holds ${p.source} (${p.from}, ${p.to}] (${p.updates} update${p.updates === 1 ? '' : 's'}) in its causal buffer, waiting for ${dotText(p.waitsFor)} (${p.reason === 'gap' ? `${p.source}'s earlier updates` : 'a dependency'}); ${who}`)
  }
  const refused: RefusedUpdate[] = []
  for (const r of [a, b]) for (const x of r.rejections) refused.push({ replica: r.id, code: x.code, message: x.message, dot: x.dot })
  for (const x of refused) lines.push(`${x.replica} refused ${x.dot === undefined ? 'a range' : dotText(x.dot)}: ${x.code}: ${x.message}`)
  let contentDiffers = false
  const differences: ContentDifference[] = []
  if (missing.length === 0) {
    const sa = a.state
    const sb = b.state
    contentDiffers = !sameBytes(sa, sb)
    if (contentDiffers) {
      const ka = a.kept
      const kb = b.kept
      if (ka !== undefined && kb !== undefined) {
        for (const [k, bytes] of ka) {
          const other = kb.get(k)
          if (other === undefined) differences.push({ dot: parseDot(k), keptBy: [a.id] })
          else if (!sameBytes(bytes, other)) differences.push({ dot: parseDot(k), keptBy: [a.id, b.id] })
        }
        for (const k of kb.keys()) if (!ka.has(k)) differences.push({ dot: parseDot(k), keptBy: [b.id] })
        differences.sort((x, y) => (x.dot.source < y.dot.source ? -1 : x.dot.source > y.dot.source ? 1 : x.dot.seq - y.dot.seq))
      }
      const shown = differences.slice(0, 8).map((d) => (d.keptBy.length === 2 ? `${dotText(d.dot)} differs` : `${dotText(d.dot)} kept only by ${d.keptBy[0]}`))
      const detail =
        ka === undefined || kb === undefined
          ? ''
          : shown.length > 0
            ? `; ${shown.join(', ')}${differences.length > shown.length ? `, and ${differences.length - shown.length} more` : ''}`
            : '; every kept update is the same, so the type encodes or values them differently'
      lines.push(`equal vectors hide different content: the states encode to different bytes (${sa.length} vs ${sb.length})${detail}`)
    }
  }
  const converged = missing.length === 0 && buffered.length === 0 && refused.length === 0 && !contentDiffers
  return { converged, missing, buffered, refused, contentDiffers, differences, lines }
}

function sameVector(x: Readonly<Record<string, number>>, y: Readonly<Record<string, number>>): boolean {
  const kx = Object.keys(x).filter((k) => (x[k] ?? 0) > 0)
  const ky = Object.keys(y).filter((k) => (y[k] ?? 0) > 0)
  return kx.length === ky.length && kx.every((k) => x[k] === y[k])
}

/** A dot as the key of {@link ReplicaFacts.kept}. */
export function dotKey(source: string, seq: number): string {
  return `${seq}\u0000${source}`
}

function keptUpdates(r: Replicated<any>): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>()
  for (const range of r.historySince()) {
    for (const u of range.updates as Update<unknown>[]) {
      out.set(dotKey(u.source, u.seq), r.encodeRanges([{ source: u.source, from: u.seq - 1, to: u.seq - 1 + (u.len ?? 1), updates: [u] }]))
    }
  }
  return out
}

function parseDot(k: string): Dot {
  const i = k.indexOf('\u0000')
  return { source: k.slice(i + 1) as ReplicaId, seq: Number(k.slice(0, i)) }
}

function sameBytes(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false
  return true
}
