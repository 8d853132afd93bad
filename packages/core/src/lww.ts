import { lastWriterWins } from '@hearsay/core'

/**
 * True when update `a` beats update `b` under last-writer-wins: the greater hybrid time wins;
 * equal times are broken by the greater source id, then the greater seq. The same function as
 * `lastWriterWins` from `@hearsay/core`, under the name the model package has always exported.
 */
export const isNewer: (a: Parameters<typeof lastWriterWins>[0], b: Parameters<typeof lastWriterWins>[1]) => boolean = lastWriterWins
