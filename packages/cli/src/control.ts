import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { createHash } from 'node:crypto'
import { readFile, rm, writeFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { CliError, ExitCode } from './args.js'

/**
 * The control protocol between `hearsay peer` (the daemon) and the client commands (`put`, `get`,
 * `del`, `watch`, `ls`, `status`, `bundle`). One request per connection over a local socket:
 * the client writes one JSON line, the daemon answers with JSON lines, the last of which has
 * `done: true` (a `watch` keeps sending `event` lines until either side closes).
 * Lines are capped at {@link MAX_CONTROL_LINE} bytes on both sides.
 */
export type ControlRequest =
  | { op: 'ping' }
  | { op: 'status' }
  | { op: 'ls' }
  | { op: 'get'; object: string; key?: string }
  | { op: 'put'; object: string; key: string; value: unknown; writers?: string[] }
  | { op: 'del'; object: string; key: string }
  | { op: 'watch'; object: string }
  | { op: 'bundle-export'; for: string; file: string; maxBytes?: number }
  | { op: 'bundle-import'; file: string }
  | { op: 'explain'; object?: string; kept?: boolean }

/** One line the daemon sends back. */
export type ControlResponse =
  | { done: true; ok: true; result?: unknown }
  | { done: true; ok: false; error: { message: string; exitCode: number } }
  | { done?: false; event: unknown }

/** Longest control line accepted (16 MiB). */
export const MAX_CONTROL_LINE = 16 * 1024 * 1024

/** The file a running daemon writes into its data directory so clients can find it. */
export interface DaemonInfo {
  readonly pid: number
  readonly id: string
  readonly socket: string
  readonly listen: readonly string[]
  readonly started: string
}

const INFO_FILE = 'daemon.json'
// Unix socket paths are limited to ~104-108 bytes; a deep data directory falls back to tmpdir.
const MAX_SOCKET_PATH = 100

/**
 * Where the daemon of `dataDir` listens: `<dataDir>/control.sock` when the path is short enough
 * for a Unix socket, else a socket in the temp directory named by a hash of the data directory;
 * a named pipe on Windows.
 */
export function controlSocketPath(dataDir: string): string {
  const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 16)
  if (process.platform === 'win32') return `\\\\?\\pipe\\hearsay-${hash}`
  const inDir = join(dataDir, 'control.sock')
  return Buffer.byteLength(inDir) <= MAX_SOCKET_PATH ? inDir : join(tmpdir(), `hearsay-${hash}.sock`)
}

/** Reads the daemon's info file, or undefined when none is there. */
export async function readDaemonInfo(dataDir: string): Promise<DaemonInfo | undefined> {
  try {
    return JSON.parse(await readFile(join(dataDir, INFO_FILE), 'utf8')) as DaemonInfo
  } catch {
    return undefined
  }
}

/**
 * Splits a socket's bytes into lines, refusing a line longer than the cap. Only each new chunk
 * is searched for the newline, and a line's pieces are joined once it is whole: searching the
 * joined buffer after every chunk made a 15 MiB line cost seconds (quadratic).
 */
function onLines(socket: Socket, onLine: (line: string) => void): void {
  let parts: string[] = []
  let size = 0
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    let start = 0
    let nl: number
    while ((nl = chunk.indexOf('\n', start)) >= 0) {
      parts.push(chunk.slice(start, nl))
      const line = parts.join('')
      parts = []
      size = 0
      start = nl + 1
      if (line.trim() !== '') onLine(line)
      if (socket.destroyed) return
    }
    if (start < chunk.length) {
      parts.push(start === 0 ? chunk : chunk.slice(start))
      size += chunk.length - start
    }
    if (size > MAX_CONTROL_LINE) socket.destroy(new Error('control line too long'))
  })
}

/** What a request handler gets: a way to send events (for `watch`) and a signal of the client leaving. */
export interface ControlContext {
  /** Sends one event line; false once the client is gone. */
  send(event: unknown): boolean
  /** Resolves when the client disconnects. */
  readonly closed: Promise<void>
}

/** Serves requests for a daemon. A handler returns the result, or throws a {@link CliError}. */
export type ControlHandler = (request: ControlRequest, context: ControlContext) => Promise<unknown>

/**
 * The daemon's side: listens on the control socket of a data directory and writes
 * `daemon.json` next to it. Refuses to start when another daemon answers there.
 */
export class ControlServer {
  readonly dataDir: string
  readonly path: string
  #server: Server | undefined
  readonly #sockets = new Set<Socket>()

  constructor(dataDir: string) {
    this.dataDir = dataDir
    this.path = controlSocketPath(dataDir)
  }

  /**
   * Starts listening.
   * @throws CliError when a daemon already runs for this data directory.
   */
  async start(handler: ControlHandler, info: Omit<DaemonInfo, 'socket' | 'pid' | 'started'>): Promise<void> {
    if (await isDaemonAlive(this.path)) {
      const other = await readDaemonInfo(this.dataDir)
      throw new CliError(`a hearsay daemon already runs for ${this.dataDir}${other ? ` (pid ${other.pid})` : ''}; stop it first, or use another --data directory`)
    }
    if (process.platform !== 'win32') await rm(this.path, { force: true })
    const server = createServer((socket) => this.#serve(socket, handler))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.path, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.#server = server
    const full: DaemonInfo = { pid: process.pid, socket: this.path, started: new Date().toISOString(), ...info }
    const tmp = join(this.dataDir, `${INFO_FILE}.${process.pid}.tmp`)
    await writeFile(tmp, JSON.stringify(full, null, 2) + '\n')
    await rename(tmp, join(this.dataDir, INFO_FILE))
  }

  #serve(socket: Socket, handler: ControlHandler): void {
    this.#sockets.add(socket)
    let resolveClosed!: () => void
    const closed = new Promise<void>((r) => (resolveClosed = r))
    socket.on('close', () => {
      this.#sockets.delete(socket)
      resolveClosed()
    })
    socket.on('error', () => {})
    const write = (msg: ControlResponse): boolean => {
      if (socket.destroyed || !socket.writable) return false
      socket.write(JSON.stringify(msg) + '\n')
      return true
    }
    let handled = false
    onLines(socket, (line) => {
      if (handled) return
      handled = true
      let request: ControlRequest
      try {
        request = JSON.parse(line) as ControlRequest
        if (typeof request !== 'object' || request === null || typeof request.op !== 'string') throw new Error('not a request')
      } catch {
        write({ done: true, ok: false, error: { message: 'bad control request', exitCode: ExitCode.FAILURE } })
        socket.end()
        return
      }
      const context: ControlContext = { send: (event) => write({ event }), closed }
      handler(request, context).then(
        (result) => {
          write({ done: true, ok: true, result })
          socket.end()
        },
        (err: Error) => {
          const exitCode = err instanceof CliError ? err.exitCode : ExitCode.FAILURE
          write({ done: true, ok: false, error: { message: err.message, exitCode } })
          socket.end()
        },
      )
    })
  }

  /** Stops listening, ends every client connection and removes the socket and `daemon.json`. */
  async stop(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    if (server === undefined) return
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await rm(join(this.dataDir, INFO_FILE), { force: true })
    if (process.platform !== 'win32') await rm(this.path, { force: true })
  }
}

function isDaemonAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path)
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

/** The message and exit code of a client command pointed at a data directory without a daemon. */
export function noDaemonError(dataDir: string): CliError {
  return new CliError(
    `no hearsay daemon is running for ${dataDir}\n` +
      `  start one with:  hearsay peer --data ${dataDir} --key <network key> --listen tcp://127.0.0.1:7002\n` +
      `  or point this command at a running daemon's directory with --data <dir>`,
    ExitCode.NO_DAEMON,
  )
}

/** Connects to the daemon of `dataDir`, or undefined when no daemon answers there. */
export async function connectControl(dataDir: string): Promise<Socket | undefined> {
  const info = await readDaemonInfo(dataDir)
  const path = info?.socket ?? controlSocketPath(dataDir)
  return new Promise((resolve) => {
    const s = createConnection(path)
    s.once('connect', () => {
      s.removeAllListeners('error')
      resolve(s)
    })
    s.once('error', () => resolve(undefined))
  })
}

/**
 * Sends one request to the daemon of `dataDir` and resolves with its result; `onEvent` receives
 * the event lines of a streaming request (`watch`).
 * @throws CliError with {@link ExitCode.NO_DAEMON} when no daemon runs there, or the daemon's
 *   own error (with its exit code) when the request failed.
 */
export async function requestDaemon(dataDir: string, request: ControlRequest, onEvent?: (event: unknown) => void): Promise<unknown> {
  const socket = await connectControl(dataDir)
  if (socket === undefined) throw noDaemonError(dataDir)
  return new Promise((resolve, reject) => {
    let settled = false
    const settle = (fn: () => void): void => {
      if (settled) return
      settled = true
      fn()
    }
    onLines(socket, (line) => {
      let msg: ControlResponse
      try {
        msg = JSON.parse(line) as ControlResponse
      } catch {
        settle(() => reject(new CliError('the daemon sent a malformed reply')))
        socket.destroy()
        return
      }
      if (msg.done === true) {
        if (msg.ok) settle(() => resolve(msg.result))
        else settle(() => reject(new CliError(msg.error.message, msg.error.exitCode as never)))
        socket.end()
      } else if ('event' in msg) {
        onEvent?.(msg.event)
      }
    })
    socket.on('error', (err) => settle(() => reject(new CliError(`lost the connection to the daemon: ${err.message}`))))
    socket.on('close', () => settle(() => reject(new CliError('the daemon closed the connection (did it stop?)'))))
    socket.write(JSON.stringify(request) + '\n')
  })
}
