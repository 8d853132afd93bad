import { Replicated, encoding, decoding, readBoundedString, type ReplicatedEvents, type Update, type ReplicatedOptions, type Dot } from '@hearsay/core'

/** What a {@link TestGSet} emits. */
export interface TestGSetEvents extends ReplicatedEvents<string> {
  change: (item: string) => void
}

/** A grow-only set of strings: the smallest correct type, used to prove the base. */
export class TestGSet extends Replicated<string, string[], TestGSetEvents> {
  static override readonly typeId = 9001
  static override readonly typeName = 'TestGSet'
  readonly #items = new Map<string, Update<string>>()

  constructor(options?: ReplicatedOptions) {
    super(options)
  }

  add(item: string): void {
    if (typeof item !== 'string' || item.startsWith('!')) throw new TypeError('item is a string not starting with "!"')
    if (!this.#items.has(item)) this.commit(item)
  }

  /** Adds an item that must not be applied anywhere before `deps`. */
  addAfter(item: string, deps: Dot[]): void {
    this.commit(item, { deps })
  }

  has(item: string): boolean {
    return this.#items.has(item)
  }

  protected applyOp(u: Update<string>): boolean {
    // Test rule: items starting with '!' are invalid, so peers can send something to refuse.
    if (u.op.startsWith('!')) throw new Error(`invalid item ${u.op}`)
    const prev = this.#items.get(u.op)
    // Keep the smallest (source, seq) as the item's witness so every replica keeps the same update.
    if (prev && (prev.source < u.source || (prev.source === u.source && prev.seq <= u.seq))) return false
    this.#items.set(u.op, u)
    if (!prev) this.emit('change', u.op)
    return !prev
  }

  protected history(): Iterable<Update<string>> {
    return this.#items.values()
  }

  protected override writeOp(e: encoding.Encoder, op: string): void {
    encoding.writeVarString(e, op)
  }

  protected override readOp(d: decoding.Decoder): string {
    return readBoundedString(d, 1 << 16)
  }

  toJSON(): string[] {
    return [...this.#items.keys()].sort()
  }
}

/** A register where the last update *received* wins: not commutative, so the checker must catch it. */
export class BrokenRegister extends Replicated<number, number | null> {
  static override readonly typeId: number = 9002
  static override readonly typeName = 'BrokenRegister'
  #value: number | null = null
  #last: Update<number> | undefined

  set(v: number): void {
    this.commit(v)
  }

  protected applyOp(u: Update<number>): boolean {
    this.#value = u.op
    this.#last = u
    return true
  }

  protected *history(): Iterable<Update<number>> {
    if (this.#last) yield this.#last
  }

  protected override writeOp(e: encoding.Encoder, op: number): void {
    encoding.writeVarUint(e, op)
  }

  protected override readOp(d: decoding.Decoder): number {
    return decoding.readVarUint(d)
  }

  toJSON(): number | null {
    return this.#value
  }
}
