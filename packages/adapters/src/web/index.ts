/**
 * @hearsay/adapters/web: adapters for browsers and workers, with no Node module.
 * - {@link WebSocketTransport}: frames over the platform's `WebSocket`, to a Node `WsTransport`.
 * @packageDocumentation
 */
export { WebSocketConnection, WebSocketTransport } from './WebSocketTransport.js'
export type { WebSocketConstructor, WebSocketLike, WebSocketTransportOptions } from './WebSocketTransport.js'
