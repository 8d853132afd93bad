import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { Emitter, isHearsayError, ErrorCodes, type Replicated } from '@hearsay/core'
import { IDENTITY_BYTES, Node, MEMBERSHIP_OBJECT_ID, SIGNING_IDENTITY_BYTES, createWritePolicy, decodeIdentity, encodeIdentity, generateIdentity, isIdentityBytes, isSignedObjectId, signedObjectId, type BundleExport, type NodeIdentity, type NodeOptions } from '@hearsay/gossip'
import { LWWMap } from '@hearsay/model'
import { LevelStore, classifyLevelError } from '@hearsay/adapters/level'
import { TcpTransport, WsTransport } from '@hearsay/adapters'
// Loaded for their side effect too: every type registers itself, so the node can load and
// accept objects of any of them (lists and text from the examples, Yjs documents).
import '@hearsay/seq'
import '@hearsay/adapters/yjs'
import { CliError, ExitCode } from './args.js'
import { ControlServer, type ControlContext, type ControlRequest } from './control.js'
import { gatherFacts } from './explain.js'
import type { LsEntry, PeerReport, StatusReport } from './format.js'

/** Where a node keeps its LevelDB database inside its data directory. */
export function databasePath(dataDir: string): string {
  return join(dataDir, 'db')
}

/** Where a node keeps its secret key (a format byte and an Ed25519 seed, 33 bytes; 32 bytes for a legacy X25519 key; owner-only) inside its data directory. */
export function identityPath(dataDir: string): string {
  return join(dataDir, 'identity')
}

/**
 * The node's long-term static keypair: read from the data directory, or created there (mode
 * 0600, written to a temporary file and linked into place, so a crash never leaves half a key
 * and two processes starting at once end up with the same one).
 * @throws CliError when the file exists but is not a key.
 */
export async function loadIdentity(dataDir: string): Promise<NodeIdentity> {
  const file = identityPath(dataDir)
  let bytes: Uint8Array | undefined
  try {
    bytes = new Uint8Array(await readFile(file))
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw new CliError(`cannot read the node key ${file}: ${(err as Error).message}`)
  }
  if (bytes !== undefined) {
    if (!isIdentityBytes(bytes)) throw new CliError(`the node key ${file} is ${bytes.length} bytes, not ${SIGNING_IDENTITY_BYTES} (Ed25519) or ${IDENTITY_BYTES} (legacy X25519): restore it from a backup, or delete it to make this node a new one`)
    return decodeIdentity(bytes)
  }
  const kp = generateIdentity()
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, encodeIdentity(kp), { mode: 0o600 })
  try {
    await link(tmp, file)
  } catch (err) {
    if ((err as { code?: string }).code !== 'EEXIST') throw err
    await unlink(tmp).catch(() => {})
    return loadIdentity(dataDir)
  }
  await unlink(tmp).catch(() => {})
  return kp
}

/** Options of {@link openDataNode}. */
export interface DataNodeOptions {
  dataDir: string
  networkKey: string
  id?: string
  fanout?: number
  interval?: number
  /** Bytes per second one peer may send (a burst of two seconds' worth); 0 for no cap. Default {@link DEFAULT_PEER_RATE}. */
  peerRate?: number
}

/** The daemon's default cap on what one peer may send it: 32 MiB a second. */
export const DEFAULT_PEER_RATE = 32 * 1024 * 1024

/**
 * A gossip node over the LevelDB database of a data directory, with the TCP and WebSocket
 * transports registered. Creates the directory when missing.
 * @throws CliError when the database is locked by another process or cannot be opened.
 */
export async function openDataNode(options: DataNodeOptions): Promise<Node> {
  // Owner-only: the control socket inside it gives full read and write access to the node.
  try {
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw openError(options.dataDir, classifyLevelError(`cannot create ${options.dataDir}`, err))
  }
  const nodeOptions: NodeOptions = {
    store: new LevelStore(databasePath(options.dataDir)),
    networkKey: options.networkKey,
    identity: await loadIdentity(options.dataDir),
    transports: [new TcpTransport(), new WsTransport()],
  }
  // Taking an id again is safe whatever this directory lost: every start writes under a fresh
  // incarnation of the id (see the gossip package's PROTOCOL.md).
  if (options.id !== undefined) nodeOptions.id = options.id
  if (options.fanout !== undefined) nodeOptions.fanout = options.fanout
  if (options.interval !== undefined) nodeOptions.interval = options.interval
  const rate = options.peerRate ?? DEFAULT_PEER_RATE
  if (rate > 0) nodeOptions.bytesPerPeer = { burst: 2 * rate, perSecond: rate }
  const node = new Node(nodeOptions)
  try {
    await node.start()
  } catch (err) {
    await node.close().catch(() => {})
    throw openError(options.dataDir, err)
  }
  return node
}

/** The message for people when a data directory's store cannot be opened, by the store error's code. */
export function openError(dataDir: string, err: unknown): CliError {
  const msg = (err as Error)?.message ?? String(err)
  const code = isHearsayError(err) ? err.code : undefined
  switch (code) {
    case ErrorCodes.STORE_LOCKED:
      return new CliError(`the data directory ${dataDir} is in use by another process (a running 'hearsay peer'?): ${msg}`)
    case ErrorCodes.STORE_READ_ONLY:
      return new CliError(`the data directory ${dataDir} is read-only (a read-only file system, or no permission to write); hearsay needs to write there: ${msg}`)
    case ErrorCodes.STORE_FULL:
      return new CliError(`the disk under ${dataDir} is full; free some space and start again: ${msg}`)
    case ErrorCodes.STORE_CORRUPT:
      return new CliError(`the database in ${dataDir} is damaged, so this node refuses to start: ${msg}\n  run 'hearsay repair --data ${dataDir}' to rebuild what can be read; its peers then send back the rest`)
    case ErrorCodes.PROTOCOL_VERSION:
      return new CliError(`the database in ${dataDir} was written by another version of hearsay: ${msg}`)
    default:
      return new CliError(`cannot open the data directory ${dataDir}: ${msg}`)
  }
}

/** The message for people when the store of a running daemon failed a write. */
export function storeFailedError(dataDir: string, err: unknown): CliError {
  const msg = (err as Error)?.message ?? String(err)
  const cause = isHearsayError(err, ErrorCodes.STORE_FULL)
    ? `the disk under ${dataDir} is full`
    : isHearsayError(err, ErrorCodes.STORE_READ_ONLY)
      ? `the data directory ${dataDir} became read-only`
      : `the store in ${dataDir} failed`
  return new CliError(`${cause}, so the write was not stored (${(err as { code?: string })?.code ?? 'error'}: ${msg}); the daemon stops: free space or fix the disk, then start it again`)
}

/** The JSON of a replica, for `get` and `watch`. */
function jsonOf(replica: Replicated<any>): unknown {
  return (replica as unknown as { toJSON(): unknown }).toJSON()
}

function sizeOf(replica: Replicated<any>): number | null {
  const r = replica as unknown as { size?: unknown; length?: unknown }
  if (typeof r.size === 'number') return r.size
  if (typeof r.length === 'number') return r.length
  return null
}

/**
 * Writes a bundle file atomically (a temp file renamed over the target), so a reader never sees
 * half a bundle.
 */
export async function writeFileAtomic(file: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, bytes)
  await rename(tmp, file)
}

/**
 * A bundle for `peer` through `node.exportBundleReport`, its errors as the CLI reports them: a
 * bad id, a `--max-bytes` too small for the bundle's header or its first update.
 */
export async function exportFor(node: Node, peer: string, maxBytes: number | undefined): Promise<BundleExport> {
  try {
    return await node.exportBundleReport({ for: peer, ...(maxBytes !== undefined && { maxBytes }) })
  } catch (err) {
    if (err instanceof TypeError) throw new CliError(`--for ${JSON.stringify(peer)} is not a node id`)
    if (isHearsayError(err) && err.code === ErrorCodes.LIMIT_EXCEEDED) throw new CliError(`--max-bytes ${maxBytes} is too small: ${err.message}`)
    throw err
  }
}

/** Reads a bundle file, with a message that names it when it cannot. */
export async function readBundleFile(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file))
  } catch (err) {
    throw new CliError(`cannot read bundle ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
  }
}

/** Turns a node's bundle errors into messages for people. */
export function bundleError(err: unknown, file: string): never {
  if (isHearsayError(err, ErrorCodes.AUTH_FAILED)) throw new CliError(`bundle ${file} was made with another network key, or was altered; check --key`)
  if (isHearsayError(err)) throw new CliError(`bundle ${file} is not a readable hearsay bundle: ${err.message}`)
  throw err
}

/** What a {@link Daemon} emits. */
export interface DaemonEvents {
  /** An object was created here or arrived from a peer or a bundle. */
  appeared: (objectId: string, replica: Replicated<any, any, any>) => void
  /** The daemon is stopping. */
  stopping: () => void
}

/**
 * The daemon behind `hearsay peer`: a node on a data directory plus the control socket that
 * client commands talk to. Emits `appeared` (objectId, replica) when an object is created here
 * or arrives from a peer or a bundle.
 */
export class Daemon extends Emitter<DaemonEvents> {
  readonly node: Node
  readonly dataDir: string
  readonly control: ControlServer
  readonly started = Date.now()
  #storeFailure: unknown = undefined

  constructor(node: Node, dataDir: string) {
    super()
    this.node = node
    this.dataDir = dataDir
    this.control = new ControlServer(dataDir)
    node.on('object', (id: string, replica: Replicated<any>) => this.emit('appeared', id, replica))
    node.on('store-failed', (err: unknown) => {
      this.#storeFailure ??= err
    })
  }

  /** Starts serving the control socket. @throws CliError when another daemon serves this directory. */
  async serve(): Promise<void> {
    await this.control.start((req, ctx) => this.#handle(req, ctx), { id: this.node.id, listen: [...this.node.addresses] })
  }

  async #handle(req: ControlRequest, ctx: ControlContext): Promise<unknown> {
    switch (req.op) {
      case 'ping':
        return { id: this.node.id }
      case 'status':
        return this.status()
      case 'ls':
        return this.ls()
      case 'get':
        return this.#get(req.object, req.key)
      case 'put':
        return this.#put(req.object, req.key, req.value, req.writers)
      case 'del':
        return this.#del(req.object, req.key)
      case 'watch':
        return this.#watch(req.object, ctx)
      case 'bundle-export': {
        const r = await exportFor(this.node, req.for, req.maxBytes)
        await writeFileAtomic(req.file, r.bytes)
        return { bytes: r.bytes.length, updates: r.updates, complete: r.complete }
      }
      case 'bundle-import': {
        const bytes = await readBundleFile(req.file)
        try {
          return await this.node.importBundle(bytes)
        } catch (err) {
          bundleError(err, req.file)
        }
      }
      case 'explain':
        return gatherFacts(this.node, { ...(req.object !== undefined && { object: req.object }), kept: req.kept === true, skip: MEMBERSHIP_OBJECT_ID })
      default:
        throw new CliError(`unknown control request ${JSON.stringify((req as { op: unknown }).op)}`)
    }
  }

  async #object(id: string): Promise<Replicated<any>> {
    // A stored object is loaded on first use (Node.load).
    const r = id === MEMBERSHIP_OBJECT_ID ? undefined : await this.#load(id)
    if (r === undefined) throw new CliError(`no object ${JSON.stringify(id)} on this node ('hearsay ls' lists them)`, ExitCode.NOT_FOUND)
    return r
  }

  // Reads wait until every write queued so far is durable, so they never show one that is not
  // (and fail when the store did).
  async #get(object: string, key: string | undefined): Promise<{ value: unknown }> {
    await this.#durable()
    const r = await this.#object(object)
    const json = jsonOf(r) as Record<string, unknown>
    if (key === undefined) return { value: json }
    if (r instanceof LWWMap ? !r.has(key) : json === null || typeof json !== 'object' || !Object.hasOwn(json, key)) {
      throw new CliError(`${object} has no key ${JSON.stringify(key)}`, ExitCode.NOT_FOUND)
    }
    return { value: r instanceof LWWMap ? r.get(key) : json[key] }
  }

  async #map(object: string, writers?: readonly string[]): Promise<{ id: string; map: LWWMap }> {
    if (object === MEMBERSHIP_OBJECT_ID) throw new CliError(`${object} is the node's membership; pick another object name`)
    if (writers !== undefined && (!Array.isArray(writers) || !writers.every((w) => typeof w === 'string'))) throw new CliError('writers is a list of node ids')
    // With writers, the object is the signed one they name (its id carries their policy).
    let id = object
    if (writers !== undefined) {
      try {
        id = isSignedObjectId(object) ? object : signedObjectId(object, createWritePolicy(writers))
      } catch (err) {
        throw new CliError(`bad --writers or object name: ${(err as Error).message}`)
      }
    }
    const existed = (await this.#load(id)) !== undefined
    let map: LWWMap
    try {
      map = await this.node.open(object, LWWMap, writers === undefined ? {} : { writers })
    } catch (err) {
      if (isHearsayError(err, ErrorCodes.TYPE_MISMATCH)) throw new CliError(`${id} is a ${this.node.get(id)?.typeName ?? 'different type'}; put and del write LWW maps only`)
      if (isHearsayError(err, ErrorCodes.NOT_PERMITTED)) throw new CliError(`cannot open ${id} (${err.code}): ${err.message}`)
      if (err instanceof TypeError) throw new CliError(`bad object name ${JSON.stringify(object)}: ${err.message}`)
      throw err
    }
    if (!existed) this.emit('appeared', id, map)
    return { id, map }
  }

  async #put(object: string, key: string, value: unknown, writers?: readonly string[]): Promise<{ ok: true; object: string }> {
    await this.#durable()
    const { id, map } = await this.#map(object, writers)
    try {
      map.set(key, value as never)
    } catch (err) {
      if (err instanceof TypeError || err instanceof RangeError) throw new CliError(`cannot store that value: ${err.message}`)
      if (isHearsayError(err, ErrorCodes.VALUE_TOO_LARGE)) throw new CliError(`cannot store that value (${err.code}): ${err.message}`)
      if (isHearsayError(err, ErrorCodes.NOT_PERMITTED)) throw new CliError(`cannot write ${id} (${err.code}): ${err.message}`)
      throw err
    }
    await this.#durable()
    return { ok: true, object: id }
  }

  async #del(object: string, key: string): Promise<{ deleted: boolean }> {
    await this.#durable()
    const { id, map } = await this.#map(object)
    let deleted: boolean
    try {
      deleted = map.delete(key)
    } catch (err) {
      if (isHearsayError(err, ErrorCodes.NOT_PERMITTED)) throw new CliError(`cannot write ${id} (${err.code}): ${err.message}`)
      throw err
    }
    await this.#durable()
    return { deleted }
  }

  /** The store failure that stopped this daemon's writes, if any. */
  get storeFailure(): unknown {
    return this.#storeFailure
  }

  // Waits until every write queued so far is durable. @throws CliError when the store failed.
  async #durable(): Promise<void> {
    if (this.#storeFailure === undefined) {
      try {
        await this.node.flush()
        return
      } catch (err) {
        this.#storeFailure ??= err
      }
    }
    throw storeFailedError(this.dataDir, this.#storeFailure)
  }

  async #watch(object: string, ctx: ControlContext): Promise<void> {
    const attach = (replica: Replicated<any>): (() => void) => {
      if (replica instanceof LWWMap) {
        const onChange = (key: string, value: unknown): void => {
          ctx.send({ type: 'change', key, value })
        }
        replica.on('change', onChange)
        return () => replica.off('change', onChange)
      }
      const onRanges = (): void => {
        ctx.send({ type: 'change', key: null, value: jsonOf(replica) })
      }
      replica.on('ranges', onRanges)
      return () => replica.off('ranges', onRanges)
    }
    const sendAll = (replica: Replicated<any>): void => {
      if (replica instanceof LWWMap) for (const [k, v] of replica.entries()) ctx.send({ type: 'change', key: k, value: v })
      else ctx.send({ type: 'change', key: null, value: jsonOf(replica) })
    }
    let detach: (() => void) | undefined
    const existing = await this.#load(object)
    if (existing !== undefined) detach = attach(existing)
    const onAppeared = (id: string, replica: Replicated<any>): void => {
      if (id !== object || detach !== undefined) return
      detach = attach(replica)
      sendAll(replica)
    }
    // A content repair replaces the object's replica (the old one is disposed and goes quiet):
    // follow the new one and show its whole content, which is what changed.
    const onMismatch = (id: string, _peer: string, repaired: boolean): void => {
      const replica = repaired && id === object ? this.node.get(object) : undefined
      if (replica === undefined) return
      detach?.()
      detach = attach(replica)
      sendAll(replica)
    }
    this.on('appeared', onAppeared)
    this.node.on('content-mismatch', onMismatch)
    ctx.send({ type: 'ready' })
    const stop = new Promise<void>((resolve) => this.once('stopping', resolve))
    await Promise.race([ctx.closed, stop])
    this.off('appeared', onAppeared)
    this.node.off('content-mismatch', onMismatch)
    detach?.()
  }

  // The replica of a hosted object, loaded when not yet; undefined for a bad name or one not hosted.
  async #load(object: string): Promise<Replicated<any> | undefined> {
    try {
      return await this.node.load(object)
    } catch (err) {
      if (isHearsayError(err, ErrorCodes.NOT_OPEN)) throw err
      throw new CliError(`cannot load ${JSON.stringify(object)} from the store: ${(err as Error).message}`)
    }
  }

  /** Every object except the membership, for `ls` (each loaded, for its size). */
  async ls(): Promise<LsEntry[]> {
    const out: LsEntry[] = []
    for (const o of this.node.status().objects) {
      if (o.id === MEMBERSHIP_OBJECT_ID) continue
      const r = await this.#load(o.id)
      out.push({ id: o.id, type: o.typeName, size: r === undefined ? null : sizeOf(r), clock: o.vector })
    }
    return out
  }

  /** The report printed by `hearsay status`, lag per peer computed from the digests they sent. */
  async status(): Promise<StatusReport> {
    const s = this.node.status()
    const objects = await this.ls()
    const peers: PeerReport[] = []
    // Every peer's stored digest is read at once: one by one, the first status after a start
    // with hundreds of peers waited on hundreds of store reads in a row (issue 19 part 5).
    const digests = await Promise.all(s.peers.map((p) => this.node.digestSeen(p.id).catch(() => undefined)))
    for (const [i, p] of s.peers.entries()) {
      let lag: number | null = null
      try {
        const seen = digests[i]
        if (seen === undefined) throw new Error('digest unreadable')
        if (seen.size > 0) {
          lag = 0
          for (const o of objects) {
            const theirs = seen.get(o.id)
            for (const [source, seq] of Object.entries(o.clock)) lag += Math.max(0, seq - (theirs?.get(source as never) ?? 0))
          }
        }
      } catch {
        lag = null
      }
      peers.push({
        id: p.id,
        address: p.addresses[0] ?? null,
        state: p.connected ? (p.inSync ? 'in sync' : 'connected') : p.suspected ? 'suspected' : 'known',
        lastSync: p.lastSync === undefined ? null : new Date(p.lastSync).toISOString(),
        bytesIn: p.bytesIn,
        bytesOut: p.bytesOut,
        lag,
      })
    }
    return {
      id: s.id,
      source: s.source,
      historyAlarms: s.historyAlarms,
      contentMismatches: s.contentMismatches,
      contentRepairs: s.contentRepairs,
      refused: s.refused,
      pid: process.pid,
      dataDir: this.dataDir,
      listen: s.addresses,
      uptimeMs: Date.now() - this.started,
      peers,
      objects,
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
      updatesApplied: s.updatesApplied,
      pending: s.pendingUpdates,
    }
  }

  /** Ends every watch, stops the control socket, closes the node (and with it the store). */
  async stop(): Promise<void> {
    this.emit('stopping')
    await this.control.stop()
    await this.node.close()
  }
}
