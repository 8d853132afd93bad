/**
 * Thrown inside the engine for references a peer's op makes to things that do not exist, and
 * for content of the wrong type; SequenceBase turns it into a `HEARSAY_INVALID_UPDATE` error.
 */
export class InvalidOp extends Error {}
