/**
 * @hearsay/adapters/web: adapters for browsers and workers, with no Node module.
 * - {@link WebSocketTransport}: frames over the platform's `WebSocket`, to a Node `WsTransport`.
 * - {@link BroadcastChannelTransport}: frames between tabs and workers of one origin, no server.
 * - {@link IndexedDBStore}: the LevelDB store layout in IndexedDB (browser-level).
 * @packageDocumentation
 */
export { WebSocketConnection, WebSocketTransport } from './WebSocketTransport.js'
export type { WebSocketConstructor, WebSocketLike, WebSocketTransportOptions } from './WebSocketTransport.js'
export { BroadcastChannelConnection, BroadcastChannelTransport } from './BroadcastChannelTransport.js'
export type { BroadcastChannelConstructor, BroadcastChannelLike, BroadcastChannelTransportOptions } from './BroadcastChannelTransport.js'
export { IndexedDBStore } from './IndexedDBStore.js'
export type { IndexedDBStoreOptions } from './IndexedDBStore.js'
