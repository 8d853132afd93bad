// Re-exports for unit tests of the package's internals.
export { decodeWith, encodeWith, encoding, decoding, readBoundedString } from '@hearsay/core'
export { testSeed } from '@hearsay/core/testing'
