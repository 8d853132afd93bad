// The entry Node resolves for `@hearsay/core` (the `node` export condition): everything in the
// platform-neutral entry, plus the Node streams of `@hearsay/core/node` on every replica.
import './node/index.js'
export * from './index.js'
export { ReplicaStream, createReadStream, createStream, createWriteStream } from './node/index.js'
