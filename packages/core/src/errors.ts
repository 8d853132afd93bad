/**
 * Every error code hearsay raises on purpose. Codes are API and never change meaning;
 * messages are for people and may change. Wrong arguments from a caller are plain
 * `TypeError`/`RangeError` without a code; everything that comes from a peer, a file
 * or a store carries one of these.
 */
export const ErrorCodes = {
  /** Bytes from a peer, a file or a store could not be decoded; `offset` says where. */
  DECODE_ERROR: 'HEARSAY_DECODE_ERROR',
  /** A frame's declared length exceeds the configured cap; it was refused before buffering. */
  FRAME_TOO_LARGE: 'HEARSAY_FRAME_TOO_LARGE',
  /** The peer speaks a protocol or format version this build does not understand. */
  PROTOCOL_VERSION: 'HEARSAY_PROTOCOL_VERSION',
  /** The peer's object has another replicated type than ours. */
  TYPE_MISMATCH: 'HEARSAY_TYPE_MISMATCH',
  /** An update decoded but breaks its type's rules (unknown reference, bad op); it was refused whole. */
  INVALID_UPDATE: 'HEARSAY_INVALID_UPDATE',
  /** An update's hybrid time is further ahead of the local wall clock than the allowed drift; refused for now. */
  CLOCK_DRIFT: 'HEARSAY_CLOCK_DRIFT',
  /** The causal buffer is full; the range was dropped and will be fetched again by the next digest exchange. */
  BUFFER_OVERFLOW: 'HEARSAY_BUFFER_OVERFLOW',
  /** The object, store, stream or node was closed or disposed. */
  NOT_OPEN: 'HEARSAY_NOT_OPEN',
  /** The operation is not supported by this implementation (see its capabilities). */
  NOT_SUPPORTED: 'HEARSAY_NOT_SUPPORTED',
  /** A type id that no registered replicated type claims. */
  UNKNOWN_TYPE: 'HEARSAY_UNKNOWN_TYPE',
  /** The peer could not prove it holds the network key, or refused ours. */
  AUTH_FAILED: 'HEARSAY_AUTH_FAILED',
  /** The peer stopped reading and its bounded send buffer filled up. */
  BACKPRESSURE: 'HEARSAY_BACKPRESSURE',
  /** A storage backend failed; the write was not acknowledged. */
  STORE_ERROR: 'HEARSAY_STORE_ERROR',
  /** The store's files are damaged or incomplete (a missing CURRENT file or header, a checksum LevelDB reported); nothing was written over them. */
  STORE_CORRUPT: 'HEARSAY_STORE_CORRUPT',
  /** The store is held by another process (its lock file is taken). */
  STORE_LOCKED: 'HEARSAY_STORE_LOCKED',
  /** The store's directory or file system does not accept writes. */
  STORE_READ_ONLY: 'HEARSAY_STORE_READ_ONLY',
  /** The store's disk is full; the write was not acknowledged. */
  STORE_FULL: 'HEARSAY_STORE_FULL',
  /** A local write encodes to more bytes than the replication path carries in one update; it was refused before anything changed. */
  VALUE_TOO_LARGE: 'HEARSAY_VALUE_TOO_LARGE',
  /** A peer went past a per-peer cap (new objects it may make this node create); what it sent waits and is offered again. */
  LIMIT_EXCEEDED: 'HEARSAY_LIMIT_EXCEEDED',
  /** A transport failed to connect, listen or deliver. */
  TRANSPORT_ERROR: 'HEARSAY_TRANSPORT_ERROR',
  /** Something did not answer in time. */
  TIMEOUT: 'HEARSAY_TIMEOUT',
  /** A signed segment whose signature does not verify under its source's key, or whose source is bound to no key. */
  BAD_SIGNATURE: 'HEARSAY_BAD_SIGNATURE',
  /** A write by a source the object's write policy does not name, or a policy the object id does not certify. */
  NOT_PERMITTED: 'HEARSAY_NOT_PERMITTED',
} as const

/** One of the stable {@link ErrorCodes}. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

/** Extra context carried by a {@link HearsayError}. */
export interface HearsayErrorOptions {
  /** Byte offset in the payload where decoding failed. */
  offset?: number
  /** The underlying error. */
  cause?: unknown
}

/**
 * The one error class hearsay throws or emits for bad input and failed I/O.
 * Test `err.code`, never the message.
 */
export class HearsayError extends Error {
  readonly code: ErrorCode
  readonly offset: number | undefined

  constructor(code: ErrorCode, message: string, options: HearsayErrorOptions = {}) {
    super(options.offset === undefined ? message : `${message} (at byte ${options.offset})`, { cause: options.cause })
    this.name = 'HearsayError'
    this.code = code
    this.offset = options.offset
  }
}

/** True when `err` is a {@link HearsayError}, optionally with the given code. */
export function isHearsayError(err: unknown, code?: ErrorCode): err is HearsayError {
  return err instanceof HearsayError && (code === undefined || err.code === code)
}
