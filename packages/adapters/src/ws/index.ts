export { WsConnection, WsTransport, parseWsUrl } from './WsTransport.js'
export type { WsTransportOptions } from './WsTransport.js'
