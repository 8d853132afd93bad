import { toReplicaId } from '@hearsay/core'
import { CliError, ExitCode, UsageError, dataDirOf, expectPositionals, parseAddress, parseCommand, parseDuration, parseInteger } from '../args.js'
import { Daemon, openDataNode, storeFailedError } from '../Daemon.js'
import { connectControl, readDaemonInfo } from '../control.js'
import { formatBytes, printable } from '../format.js'
import type { Output } from './client.js'

/** The network key: `--key`, else `$HEARSAY_KEY`. @throws UsageError when neither is set. */
export function networkKeyOf(command: string, values: Record<string, unknown>, required = true): string | undefined {
  const v = values['key']
  const key = typeof v === 'string' && v !== '' ? v : process.env['HEARSAY_KEY'] || undefined
  if (key === undefined && required) {
    throw new UsageError(command, `--key is required: every peer of one network shares a secret key, e.g. --key correct-horse-battery (or set HEARSAY_KEY)`)
  }
  return key
}

function time(): string {
  return new Date().toISOString().slice(11, 19)
}

/** `hearsay peer`: runs until SIGINT or SIGTERM, then shuts down cleanly. */
export async function peerCommand(args: readonly string[], io: Output): Promise<number> {
  const { values, positionals } = parseCommand('peer', args, {
    data: { type: 'string' },
    key: { type: 'string' },
    listen: { type: 'string', multiple: true },
    peer: { type: 'string', multiple: true },
    id: { type: 'string' },
    fanout: { type: 'string' },
    interval: { type: 'string' },
    'status-every': { type: 'string' },
    'peer-rate': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  })
  expectPositionals('peer', positionals, [])
  const dataDir = dataDirOf(values)
  const networkKey = networkKeyOf('peer', values)!
  const listen = ((values['listen'] as string[] | undefined) ?? []).map((u) => parseAddress('peer', '--listen', u))
  const peers = ((values['peer'] as string[] | undefined) ?? []).map((u) => parseAddress('peer', '--peer', u))
  const id = values['id'] as string | undefined
  if (id !== undefined) {
    try {
      toReplicaId(id)
    } catch {
      throw new UsageError('peer', `--id takes a name of 1 to 128 characters, got ${JSON.stringify(id)}`)
    }
  }
  const fanout = values['fanout'] === undefined ? undefined : parseInteger('peer', '--fanout', values['fanout'] as string, 1, 64)
  const interval = values['interval'] === undefined ? undefined : parseDuration('peer', '--interval', values['interval'] as string)
  if (interval !== undefined && interval < 10) throw new UsageError('peer', '--interval must be at least 10ms, e.g. --interval 1s')
  const peerRate = values['peer-rate'] === undefined ? undefined : parseInteger('peer', '--peer-rate', values['peer-rate'] as string, 0, Number.MAX_SAFE_INTEGER)
  const statusEvery = values['status-every'] === undefined ? 10_000 : parseDuration('peer', '--status-every', values['status-every'] as string)
  if (listen.length === 0 && peers.length === 0) io.err('note: no --listen and no --peer: this node can only sync through bundles')

  // Say so plainly when a daemon already serves this directory, before touching its database.
  if ((await readDaemonInfo(dataDir)) !== undefined) {
    const socket = await connectControl(dataDir)
    if (socket !== undefined) {
      socket.destroy()
      const info = await readDaemonInfo(dataDir)
      throw new CliError(`a hearsay daemon already runs for ${dataDir}${info ? ` (pid ${info.pid})` : ''}; stop it first, or use another --data directory`)
    }
  }
  const node = await openDataNode({ dataDir, networkKey, ...(id !== undefined && { id }), ...(fanout !== undefined && { fanout }), ...(interval !== undefined && { interval }), ...(peerRate !== undefined && { peerRate }) })
  if (id !== undefined && node.id !== id) io.err(`note: this data directory already belongs to node ${node.id}; --id ${id} is ignored`)
  const daemon = new Daemon(node, dataDir)
  let stopping: Promise<void> | undefined
  try {
    await daemon.serve()
  } catch (err) {
    await node.close()
    throw err
  }

  // Peer ids, addresses and error messages come from peers: one log line each, escaped.
  const log = (line: string): void => io.out(`${time()} ${printable(line)}`)
  node.on('peer-connected', (peer: string, address: string) => log(`peer ${peer} connected (${address})`))
  node.on('peer-disconnected', (peer: string, reason?: Error) => log(`peer ${peer} disconnected${reason ? `: ${reason.message}` : ''}`))
  node.on('peer-suspected', (peer: string) => log(`peer ${peer} suspected (no heartbeat)`))
  node.on('peer-recovered', (peer: string) => log(`peer ${peer} is back`))
  node.on('peer-error', (err: Error & { code?: string }, peer?: string) => log(`peer ${peer ?? '?'} error ${err.code ?? ''}: ${err.message}`))
  node.on('object', (objectId: string, replica: { typeName: string }) => log(`new object ${objectId} (${replica.typeName}) from a peer`))
  node.on('store-error', (err) => log(`store error: ${err instanceof Error ? err.message : String(err)}`))
  node.on('history-alarm', (source: string, objectId: string, peer?: string) =>
    log(`history went back: ${peer === undefined ? 'a bundle' : `peer ${peer}`} held updates of ${objectId} written by this node as ${source} that this data directory lost (a restored backup, a damaged or wiped store); received them, and this node writes as ${node.source}`),
  )
  node.on('content-mismatch', (objectId: string, peer: string, repaired: boolean) =>
    log(
      repaired
        ? `content repaired: ${objectId} had equal vectors but different content at peer ${peer}; this node took the peer's state`
        : `content differs: ${objectId} has equal vectors but different content at peer ${peer} (a damaged or tampered store); the node with the larger id takes the other's state`,
    ),
  )
  let failed: unknown
  // Fail-stop: a node whose store refuses writes must not keep answering as if it stored them.
  const onFailed = new Promise<void>((resolve) => node.once('store-failed', (err: unknown) => {
    failed = err
    resolve()
  }))

  try {
    for (const url of listen) {
      try {
        const at = await node.listen(url)
        log(`listening on ${at}`)
      } catch (err) {
        throw new CliError(`cannot listen on ${url}: ${(err as Error).message} (is the port taken? pick another with --listen)`)
      }
    }
  } catch (err) {
    await daemon.stop()
    throw err
  }
  // connect() keeps retrying in the background; a peer that is not up yet is not an error.
  for (const url of peers) {
    log(`connecting to ${url}`)
    node.connect(url).catch((err: Error) => log(`cannot reach ${url} yet (${err.message}); retrying in the background`))
  }
  log(`node ${node.id} ready; writes as ${node.source}; data in ${dataDir}; Ctrl-C to stop`)

  const timer =
    statusEvery > 0
      ? setInterval(() => {
          const s = node.status()
          const connected = s.peers.filter((p) => p.connected).length
          const objects = s.objectCount - 1
          log(`status: ${connected}/${s.peers.length} peers connected, ${objects} object${objects === 1 ? '' : 's'}, in ${formatBytes(s.bytesIn)} out ${formatBytes(s.bytesOut)}, ${s.updatesApplied} updates applied, ${s.pendingUpdates} pending`)
        }, statusEvery)
      : undefined

  await new Promise<void>((resolve) => {
    const shutdown = (signal: string): void => {
      if (stopping !== undefined) return
      log(`${signal}: closing connections and the store...`)
      if (timer) clearInterval(timer)
      // A store that cannot close within 15 s is reported rather than waited on forever.
      const watchdog = setTimeout(() => {
        io.err('shutdown is taking too long; exiting without a clean close')
        process.exit(ExitCode.FAILURE)
      }, 15_000)
      watchdog.unref()
      stopping = daemon.stop().finally(() => {
        clearTimeout(watchdog)
        resolve()
      })
    }
    process.on('SIGINT', () => shutdown('SIGINT'))
    process.on('SIGTERM', () => shutdown('SIGTERM'))
    process.on('SIGHUP', () => shutdown('SIGHUP'))
    void onFailed.then(() => {
      io.err(`hearsay peer: ${storeFailedError(dataDir, failed).message}`)
      // Let the replies to the writes that just failed reach their clients first.
      setTimeout(() => shutdown('store failed'), 200)
    })
  })
  await stopping
  if (failed !== undefined) {
    log('stopped: the store failed; writes it did not acknowledge are not kept')
    return ExitCode.FAILURE
  }
  log('stopped cleanly')
  return ExitCode.OK
}
