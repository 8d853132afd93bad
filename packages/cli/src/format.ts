/** How the CLI prints things: sizes, durations, vectors, tables, progress bars. */

/** One row of `hearsay ls`. */
export interface LsEntry {
  readonly id: string
  readonly type: string
  /** Entries (map keys, set members, items), when the type has a size. */
  readonly size: number | null
  readonly clock: Record<string, number>
}

/** One peer in a {@link StatusReport}. */
export interface PeerReport {
  readonly id: string
  readonly address: string | null
  readonly state: string
  readonly lastSync: string | null
  readonly bytesIn: number
  readonly bytesOut: number
  /** Updates we hold that this peer lacked when it last told us its vectors (null: unknown). */
  readonly lag: number | null
}

/** What `hearsay status` prints (and returns with `--json`). */
export interface StatusReport {
  readonly id: string
  /** The source the node writes under in this run (a fresh incarnation of its id on every start). */
  readonly source: string
  /** Own sources of which a peer held updates this node had lost (its history went back). */
  readonly historyAlarms: number
  /** Objects found with equal vectors but different content at a peer, and how many of them this node repaired. */
  readonly contentMismatches: number
  readonly contentRepairs: number
  /** Updates of signed objects refused here, by cause (see `NodeStatus.refused`). */
  readonly refused: { readonly badSignature: number; readonly notPermitted: number; readonly invalid: number }
  readonly pid: number
  readonly dataDir: string
  readonly listen: readonly string[]
  readonly uptimeMs: number
  readonly peers: readonly PeerReport[]
  readonly objects: readonly LsEntry[]
  readonly bytesIn: number
  readonly bytesOut: number
  readonly updatesApplied: number
  readonly pending: number
}

// What a string from a peer, a file or a store must not bring to a terminal or a log line
// verbatim: C0 and C1 controls (ESC starts terminal escape sequences; CR and LF forge lines),
// DEL, the Unicode line separators, the bidirectional controls (U+202E shows text reversed)
// and lone surrogates.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g
const UNPRINTABLE_BUT_NEWLINE = new RegExp(UNPRINTABLE.source.replace('\\u0000-\\u001f', '\\u0000-\\u0009\\u000b-\\u001f'), 'g')

function escapeCharacter(c: string): string {
  const n = c.charCodeAt(0)
  if (n === 0x0a) return '\\n'
  if (n === 0x0d) return '\\r'
  if (n === 0x09) return '\\t'
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`
}

/**
 * `s` with every control character, line separator, bidirectional control and lone surrogate
 * written as an escape (`\n`, `\x1b`, `\u202e`), so a name or value from a peer prints on one
 * line and shows what it holds. Apply it to every peer-supplied string the CLI prints.
 */
export function printable(s: string): string {
  return s.replace(UNPRINTABLE, escapeCharacter)
}

/** {@link printable}, keeping line breaks: for text of several lines the CLI itself laid out. */
export function printableLines(s: string): string {
  return s.replace(UNPRINTABLE_BUT_NEWLINE, escapeCharacter)
}

/** `1.2 kB`, `3.4 MB`. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`
  const units = ['kB', 'MB', 'GB', 'TB']
  let v = n
  let i = -1
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`
}

/** `850ms`, `2.3s`, `4m05s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  const m = Math.floor(ms / 60_000)
  const s = Math.round((ms % 60_000) / 1000)
  return `${m}m${String(s).padStart(2, '0')}s`
}

/** A version vector as `{a:3 b:5}`, sources sorted. */
export function formatVector(clock: Record<string, number>): string {
  const parts = Object.keys(clock)
    .sort()
    .map((k) => `${printable(k)}:${clock[k]}`)
  return `{${parts.join(' ')}}`
}

/** Total updates a vector covers. */
export function vectorSum(clock: Record<string, number>): number {
  let s = 0
  for (const v of Object.values(clock)) s += v
  return s
}

/** `[#########.........]  45%`. */
export function progressBar(fraction: number, width = 30): string {
  const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0))
  const full = Math.round(f * width)
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.floor(f * 100)).padStart(3)}%`
}

/** Left-aligned columns; every cell passes through {@link printable}. */
export function formatTable(cells: readonly (readonly string[])[]): string {
  if (cells.length === 0) return ''
  const rows = cells.map((r) => r.map(printable))
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n')
}

/** The table printed by `hearsay ls`. */
export function formatLs(entries: readonly LsEntry[]): string {
  if (entries.length === 0) return '(no objects yet: hearsay put <object> <key> <json> creates one)'
  return formatTable([['OBJECT', 'TYPE', 'SIZE', 'VECTOR'], ...entries.map((e) => [e.id, e.type, e.size === null ? '-' : String(e.size), formatVector(e.clock)])])
}

/** The text printed by `hearsay status`. */
export function formatStatus(s: StatusReport): string {
  const lines = [
    `node ${printable(s.id)}  pid ${s.pid}  up ${formatDuration(s.uptimeMs)}`,
    `data      ${printable(s.dataDir)}`,
    `listen    ${s.listen.length ? printable(s.listen.join(', ')) : '(none)'}`,
    `writes as ${printable(s.source)}`,
    `traffic   in ${formatBytes(s.bytesIn)}  out ${formatBytes(s.bytesOut)}  updates applied ${s.updatesApplied}  pending ${s.pending}`,
  ]
  if (s.historyAlarms > 0) {
    lines.push(`ALARM     peers held updates of ${s.historyAlarms} of this node's own source${s.historyAlarms === 1 ? '' : 's'} that its data directory had lost (a restored backup, a damaged or wiped store); they were received, and it writes under a fresh incarnation`)
  }
  if (s.contentMismatches > 0) {
    lines.push(`ALARM     ${s.contentMismatches} object${s.contentMismatches === 1 ? '' : 's'} had equal vectors but different content at a peer; ${s.contentRepairs} repaired here by taking the peer's state`)
  }
  const r = s.refused
  if (r !== undefined && r.badSignature + r.notPermitted + r.invalid > 0) {
    lines.push(`REFUSED   updates of signed objects: ${r.badSignature} unsigned or badly signed, ${r.notPermitted} from writers not permitted, ${r.invalid} out of chain (see the daemon log for the peers)`)
  }
  lines.push('')
  if (s.peers.length === 0) lines.push('peers     (none)')
  else {
    lines.push(
      formatTable([
        ['PEER', 'STATE', 'ADDRESS', 'LAST SYNC', 'LAG', 'IN', 'OUT'],
        ...s.peers.map((p) => [
          p.id,
          p.state,
          p.address ?? '-',
          p.lastSync ?? 'never',
          p.lag === null ? '?' : String(p.lag),
          formatBytes(p.bytesIn),
          formatBytes(p.bytesOut),
        ]),
      ]),
    )
  }
  lines.push('')
  lines.push(formatLs(s.objects))
  return lines.join('\n')
}
