/**
 * @hearsay/adapters: the parts of hearsay that touch the outside world.
 *
 * - {@link TcpTransport} (`tcp://host:port`) and {@link WsTransport} (`ws://host:port/path`):
 *   core `Transport`s carrying hearsay frames between processes and machines, with frame caps,
 *   bounded send buffers and (WebSocket) heartbeats.
 * - `@hearsay/adapters/level`: `LevelStore`, persistence over abstract-level (LevelDB by default).
 * - `@hearsay/adapters/yjs`: `YDocReplica`, a `Y.Doc` replicated and persisted through hearsay.
 *
 * @example
 * ```ts
 * import { TcpTransport } from '@hearsay/adapters'
 * const tcp = new TcpTransport()
 * const listener = await tcp.listen('tcp://127.0.0.1:0', (conn) => conn.on('frame', (f) => conn.send(f)))
 * const conn = await tcp.connect(listener.url)   // listener.url has the real port
 * conn.on('frame', (f) => console.log('echo', f))
 * conn.send(new Uint8Array([1, 2, 3]))
 * ```
 * @packageDocumentation
 */
export { TcpConnection, TcpTransport, parseTcpUrl } from './tcp/index.js'
export type { TcpTransportOptions } from './tcp/index.js'
export { WsConnection, WsTransport, parseWsUrl } from './ws/index.js'
export type { WsTransportOptions } from './ws/index.js'
