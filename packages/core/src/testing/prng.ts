import * as prng from 'lib0/prng'

export { prng }

/**
 * The seed for a random test: `SEED` from the environment when set (to replay a failure),
 * otherwise a fresh random one. Tests print it on failure.
 */
export function testSeed(): number {
  const env = process.env['SEED']
  if (env !== undefined && env !== '') {
    const n = Number(env)
    if (!Number.isSafeInteger(n)) throw new RangeError(`SEED must be an integer, got ${env}`)
    return n
  }
  // The one place a seed is drawn at random; everything after it is derived from the seed.
  return Math.floor(Math.random() * 0x7fffffff)
}

/** A seeded PRNG (lib0's xoroshiro128+). */
export function createPrng(seed: number): prng.PRNG {
  return prng.create(seed)
}

/**
 * Runs `fn` with a seeded PRNG; on failure rethrows with the seed and the command that replays it.
 * @example withSeed('text fuzz', (rng, seed) => { ... })
 */
export async function withSeed<T>(name: string, fn: (rng: prng.PRNG, seed: number) => T | Promise<T>, seed = testSeed()): Promise<T> {
  try {
    return await fn(createPrng(seed), seed)
  } catch (err) {
    const e = err as Error
    e.message = `${e.message}\n  [${name}] seed ${seed}; replay with SEED=${seed}`
    throw e
  }
}
