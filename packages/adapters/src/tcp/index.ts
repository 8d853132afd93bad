export { TcpConnection, TcpTransport, parseTcpUrl } from './TcpTransport.js'
export type { TcpTransportOptions } from './TcpTransport.js'
