import { CliError, ExitCode, UsageError, dataDirOf, expectPositionals, parseCommand, type OptionTable } from '../args.js'
import { requestDaemon } from '../control.js'
import { explainLocal, explainNodes, type NodeFacts } from '../explain.js'
import { formatLs, formatStatus, printable, printableLines, type LsEntry, type StatusReport } from '../format.js'

const DATA: OptionTable = { data: { type: 'string' }, help: { type: 'boolean', short: 'h' } }

/** What a command writes to; tests and the lab pass their own. */
export interface Output {
  out(line: string): void
  err(line: string): void
}

/** `hearsay put <object> <key> <json>`. */
export async function putCommand(args: readonly string[], io: Output): Promise<number> {
  const { values, positionals } = parseCommand('put', args, { ...DATA, string: { type: 'boolean' }, writers: { type: 'string' } })
  const [object, key, text] = expectPositionals('put', positionals, ['object', 'key', 'json'])
  let value: unknown = text
  if (values['string'] !== true) {
    try {
      value = JSON.parse(text!)
    } catch {
      throw new UsageError(
        'put',
        `<json> must be JSON, got ${JSON.stringify(text)}: quote a string as '"${text}"', or pass --string to store it as plain text`,
      )
    }
  }
  const dataDir = dataDirOf(values)
  const writersFlag = values['writers'] as string | undefined
  const writers = writersFlag === undefined ? undefined : writersFlag.split(',').map((w) => w.trim()).filter((w) => w.length > 0)
  if (writers !== undefined && writers.length === 0) throw new UsageError('put', '--writers takes a comma-separated list of node ids (hearsay status shows a node\'s id)')
  const result = (await requestDaemon(dataDir, { op: 'put', object: object!, key: key!, value, ...(writers !== undefined && { writers }) })) as { object?: string } | undefined
  io.out(printable(`${result?.object ?? object}.${key} = ${JSON.stringify(value)}`))
  return ExitCode.OK
}

/** `hearsay get <object> [key]`. */
export async function getCommand(args: readonly string[], io: Output): Promise<number> {
  const { values, positionals } = parseCommand('get', args, DATA)
  const [object, key] = expectPositionals('get', positionals, ['object'], ['key'])
  const result = (await requestDaemon(dataDirOf(values), key === undefined ? { op: 'get', object: object! } : { op: 'get', object: object!, key })) as { value: unknown }
  io.out(printableLines(JSON.stringify(result.value, null, key === undefined ? 2 : undefined)))
  return ExitCode.OK
}

/** `hearsay del <object> <key>`. */
export async function delCommand(args: readonly string[], io: Output): Promise<number> {
  const { values, positionals } = parseCommand('del', args, DATA)
  const [object, key] = expectPositionals('del', positionals, ['object', 'key'])
  const result = (await requestDaemon(dataDirOf(values), { op: 'del', object: object!, key: key! })) as { deleted: boolean }
  io.out(printable(result.deleted ? `deleted ${object}.${key}` : `${object}.${key} was not set`))
  return ExitCode.OK
}

/** `hearsay watch <object>`: runs until the daemon stops or the process is interrupted. */
export async function watchCommand(args: readonly string[], io: Output): Promise<number> {
  const { values, positionals } = parseCommand('watch', args, { ...DATA, json: { type: 'boolean' } })
  const [object] = expectPositionals('watch', positionals, ['object'])
  const json = values['json'] === true
  try {
    await requestDaemon(dataDirOf(values), { op: 'watch', object: object! }, (event) => {
      const e = event as { type: 'ready' } | { type: 'change'; key: string | null; value: unknown }
      if (e.type === 'ready') {
        if (!json) io.err(`watching ${printable(object!)} (Ctrl-C to stop)`)
        return
      }
      // JSON escapes C0 controls but not U+2028 or the bidirectional controls: printable() does.
      if (json) io.out(printable(JSON.stringify({ object, key: e.key, value: e.value ?? null })))
      else if (e.key === null) io.out(printable(JSON.stringify(e.value)))
      else io.out(printable(e.value === undefined || e.value === null ? `${e.key} (deleted)` : `${e.key} ${JSON.stringify(e.value)}`))
    })
  } catch (err) {
    if (err instanceof CliError && /closed the connection/.test(err.message)) throw new CliError('the daemon stopped')
    throw err
  }
  return ExitCode.OK
}

/** `hearsay ls`. */
export async function lsCommand(args: readonly string[], io: Output): Promise<number> {
  const { values, positionals } = parseCommand('ls', args, { ...DATA, json: { type: 'boolean' } })
  expectPositionals('ls', positionals, [])
  const result = (await requestDaemon(dataDirOf(values), { op: 'ls' })) as LsEntry[]
  io.out(printableLines(values['json'] === true ? JSON.stringify(result, null, 2) : formatLs(result)))
  return ExitCode.OK
}

/** `hearsay status [--explain]`. */
export async function statusCommand(args: readonly string[], io: Output): Promise<number> {
  const { values, positionals } = parseCommand('status', args, { ...DATA, json: { type: 'boolean' }, explain: { type: 'boolean' } })
  expectPositionals('status', positionals, [])
  const dataDir = dataDirOf(values)
  const result = (await requestDaemon(dataDir, { op: 'status' })) as StatusReport
  if (values['explain'] !== true) {
    io.out(printableLines(values['json'] === true ? JSON.stringify(result, null, 2) : formatStatus(result)))
    return ExitCode.OK
  }
  const facts = (await requestDaemon(dataDir, { op: 'explain' })) as NodeFacts
  const lines = explainLocal(facts)
  if (values['json'] === true) io.out(printableLines(JSON.stringify({ ...result, explain: lines }, null, 2)))
  else {
    io.out(printableLines(formatStatus(result)))
    io.out('')
    io.out(lines.length === 0 ? 'explain: nothing to explain: every peer offered what we hold, nothing waits or was refused here' : 'explain:')
    for (const l of lines) io.out(printable(`  ${l}`))
  }
  return ExitCode.OK
}

/** `hearsay explain --with DIR [object]`: why two running nodes on this machine differ. */
export async function explainCommand(args: readonly string[], io: Output): Promise<number> {
  const { values, positionals } = parseCommand('explain', args, { ...DATA, with: { type: 'string' }, json: { type: 'boolean' } })
  const [object] = expectPositionals('explain', positionals, [], ['object'])
  const other = values['with']
  if (typeof other !== 'string' || other === '') throw new UsageError('explain', "--with DIR is the data directory of the other node (a running 'hearsay peer')")
  const dirs = [dataDirOf(values), dataDirOf({ data: other })] as const
  const ask = (dir: string, kept: boolean, id?: string): Promise<NodeFacts> =>
    requestDaemon(dir, { op: 'explain', ...(id !== undefined && { object: id }), ...(kept && { kept }) }) as Promise<NodeFacts>
  let [a, b] = await Promise.all(dirs.map((d) => ask(d, false, object)))
  // Equal vectors with different states: ask again for those objects with every kept update,
  // so the report can name the dots that differ.
  const hidden = a!.objects.filter((oa) => {
    const ob = b!.objects.find((o) => o.id === oa.id)
    return ob !== undefined && oa.state !== ob.state && JSON.stringify(sorted(oa.clock)) === JSON.stringify(sorted(ob.clock))
  })
  for (const o of hidden) {
    const [da, db] = await Promise.all(dirs.map((d) => ask(d, true, o.id)))
    a = { ...a!, objects: a!.objects.map((x) => (x.id === o.id ? da!.objects[0]! : x)) }
    b = { ...b!, objects: b!.objects.map((x) => (x.id === o.id ? db!.objects[0]! : x)) }
  }
  const lines = explainNodes(a!, b!)
  if (values['json'] === true) io.out(printableLines(JSON.stringify({ a: a!.node, b: b!.node, converged: lines.length === 0, lines }, null, 2)))
  else if (lines.length === 0) io.out(printable(`${a!.node} and ${b!.node} hold the same ${object === undefined ? `${a!.objects.length} object${a!.objects.length === 1 ? '' : 's'}` : object}: equal vectors, identical states, nothing waiting or refused`))
  else for (const l of lines) io.out(printable(l))
  return lines.length === 0 ? ExitCode.OK : ExitCode.NOT_CONVERGED
}

function sorted(clock: Record<string, number>): Array<[string, number]> {
  return Object.entries(clock).filter(([, n]) => n > 0).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
}
