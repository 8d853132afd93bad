// Structure: a B+tree of blocks in document order. A block is a run of consecutive ids of one
// source inserted together; inner nodes keep the visible and total (tombstones included) length
// of their subtree, so index → block and block → index are both O(log n).

/** Block state bits. A block is visible when its state is 0. */
export const DELETED = 1
/** Hidden but not deleted: a list element moved away from this slot, or a losing move slot. */
export const HIDDEN = 2

/**
 * One run of document characters (or list slots) sharing a source, consecutive seqs and a state.
 * A run's first block is the run itself (SourceLog.ts's InsRun); the blocks it is cut into later are
 * {@link Frag}s.
 */
export abstract class Block<C> {
  /** Seq of the first character. */
  seq: number
  len: number
  /** Content of the characters; dropped (empty) once deleted. */
  content: C
  state: number
  /**
   * The leaf holding the block. While a load builds the document as a list (SeqEngine's build
   * mode, until {@link BlockTree.build}), the next block in document order instead: see
   * {@link chainNext}.
   */
  leaf: Leaf<C>
  /** Next fragment of the same run, in seq order. */
  next: Block<C> | null = null
  /** The log run this block belongs to (a getter on runs, which are their own first block). */
  abstract readonly run: RunRef

  constructor(seq: number, len: number, content: C, state: number, leaf: Leaf<C>) {
    this.seq = seq
    this.len = len
    this.content = content
    this.state = state
    this.leaf = leaf
  }

  /** Interned index of the source that inserted it (kept on the run, not per block). */
  get agent(): number {
    return this.run.src
  }
}

/** A block of a run past the run's first one: a run cut by later edits, or grown by later typing. */
export class Frag<C> extends Block<C> {
  readonly run: RunRef

  constructor(seq: number, len: number, content: C, state: number, leaf: Leaf<C>, run: RunRef) {
    super(seq, len, content, state, leaf)
    this.run = run
  }
}

/**
 * The block after `b` in document order (null: the last), while a load builds the document as a
 * list (see {@link BlockTree.build}). The chain lives in the `leaf` field, which has no leaf to
 * hold then: a field of its own would cost 8 bytes on every block for good.
 */
export function chainNext<C>(b: Block<C>): Block<C> | null {
  return b.leaf as unknown as Block<C> | null
}

/** Makes `next` follow `b` in the chain {@link chainNext} reads. */
export function setChainNext<C>(b: Block<C>, next: Block<C> | null): void {
  ;(b as unknown as { leaf: Block<C> | null }).leaf = next
}

/** What a block needs to know about its run (InsRun in SourceLog.ts). */
export interface RunRef {
  readonly kind: number
  readonly src: number
}

// Blocks per leaf. An insert shifts the blocks after it in its leaf, which was ~9% of a load at
// 64; 32 halves that (loads 2-6% faster) for ~3% more heap in leaves.
export const LEAF_MAX = 32
const INNER_MAX = 32
// Blocks per leaf and children per inner node of a tree built in one go: room for a quarter more
// before the first inserts split them.
const LEAF_FILL = 24
const INNER_FILL = 24

export class Leaf<C> {
  parent: Inner<C> | null = null
  blocks: Block<C>[] = []
  vis = 0
  tot = 0
  prev: Leaf<C> | null = null
  next: Leaf<C> | null = null
  readonly isLeaf = true
}

export class Inner<C> {
  parent: Inner<C> | null = null
  children: Array<Leaf<C> | Inner<C>> = []
  vis = 0
  tot = 0
  readonly isLeaf = false
}

export type Node<C> = Leaf<C> | Inner<C>

/** A position found by visible index: block `leaf.blocks[i]`, character `off` inside it. */
export interface Cursor<C> {
  leaf: Leaf<C>
  i: number
  off: number
}

/** The B+tree. Callers mutate blocks through its methods so the sums stay exact. */
export class BlockTree<C> {
  root: Node<C>
  first: Leaf<C>
  // A leaf at or before the last one (leaves are only ever added): appends at the document end
  // walk on from it instead of from the first leaf.
  #last: Leaf<C>

  constructor() {
    const leaf = new Leaf<C>()
    this.root = leaf
    this.first = leaf
    this.#last = leaf
  }

  /** Empties the tree (blocks already placed are dropped). */
  clear(): void {
    const leaf = new Leaf<C>()
    this.root = leaf
    this.first = leaf
    this.#last = leaf
  }

  get visible(): number {
    return this.root.vis
  }

  get total(): number {
    return this.root.tot
  }

  /** The block holding the visible character at `index` (0 <= index < visible). */
  findVisible(index: number): Cursor<C> {
    let node: Node<C> = this.root
    let rem = index
    while (!node.isLeaf) {
      const ch: Array<Node<C>> = (node as Inner<C>).children
      let k = 0
      for (; k < ch.length - 1; k++) {
        const v = ch[k]!.vis
        if (rem < v) break
        rem -= v
      }
      node = ch[k]!
    }
    const leaf = node as Leaf<C>
    const bs = leaf.blocks
    for (let i = 0; i < bs.length; i++) {
      const b = bs[i]!
      if (b.state === 0) {
        if (rem < b.len) return { leaf, i, off: rem }
        rem -= b.len
      }
    }
    throw new RangeError(`index ${index} not found`)
  }

  /** Adds to the sums of `leaf` and its ancestors. */
  addLen(leaf: Leaf<C>, dvis: number, dtot: number): void {
    let n: Node<C> | null = leaf
    while (n !== null) {
      n.vis += dvis
      n.tot += dtot
      n = n.parent
    }
  }

  /** Visible characters before `block`. */
  visBefore(block: Block<C>): number {
    const leaf = block.leaf
    let sum = 0
    for (const b of leaf.blocks) {
      if (b === block) break
      if (b.state === 0) sum += b.len
    }
    let n: Node<C> = leaf
    while (n.parent !== null) {
      for (const c of n.parent.children) {
        if (c === n) break
        sum += c.vis
      }
      n = n.parent
    }
    return sum
  }

  /** Characters (tombstones included) before `block`. */
  totBefore(block: Block<C>): number {
    const leaf = block.leaf
    let sum = 0
    for (const b of leaf.blocks) {
      if (b === block) break
      sum += b.len
    }
    let n: Node<C> = leaf
    while (n.parent !== null) {
      for (const c of n.parent.children) {
        if (c === n) break
        sum += c.tot
      }
      n = n.parent
    }
    return sum
  }

  /** The block after `block` in document order, or null. */
  nextBlock(block: Block<C>): Block<C> | null {
    const leaf = block.leaf
    const i = leaf.blocks.indexOf(block)
    if (i + 1 < leaf.blocks.length) return leaf.blocks[i + 1]!
    let l = leaf.next
    while (l !== null && l.blocks.length === 0) l = l.next
    return l === null ? null : l.blocks[0]!
  }

  /** The first block of the document, or null. */
  firstBlock(): Block<C> | null {
    let l: Leaf<C> | null = this.first
    while (l !== null && l.blocks.length === 0) l = l.next
    return l === null ? null : l.blocks[0]!
  }

  /**
   * Inserts `block` into `leaf` at position `i` and adds its length to the sums. Returns the
   * block's index in its leaf afterwards (the leaf may have been split).
   */
  insertAt(leaf: Leaf<C>, i: number, block: Block<C>): number {
    block.leaf = leaf
    insertInto(leaf.blocks, i, block)
    this.addLen(leaf, block.state === 0 ? block.len : 0, block.len)
    return this.#fit(leaf, i)
  }

  // Splits `leaf` when an insert made it overflow; returns where index `i` of it now is in its leaf.
  #fit(leaf: Leaf<C>, i: number): number {
    if (leaf.blocks.length <= LEAF_MAX) return i
    const half = this.#splitLeaf(leaf)
    return i >= half ? i - half : i
  }

  /**
   * Inserts `block` right after `after` (or at the very start when null); `at`, when not -1,
   * is `after`'s index in its leaf (checked, so a stale one only costs a search). Returns the
   * block's index in its leaf.
   */
  insertAfter(after: Block<C> | null, block: Block<C>, at = -1): number {
    if (after === null) return this.insertAt(this.first, 0, block)
    const leaf = after.leaf
    const bs = leaf.blocks
    return this.insertAt(leaf, (at >= 0 && bs[at] === after ? at : bs.indexOf(after)) + 1, block)
  }

  /**
   * Inserts `block` right before `before` (or at the very end when null); `at` as for
   * {@link insertAfter}, `before`'s index. Returns the block's index in its leaf.
   */
  insertBefore(before: Block<C> | null, block: Block<C>, at = -1): number {
    if (before === null) {
      let last = this.#last
      while (last.next !== null) last = last.next
      this.#last = last
      return this.insertAt(last, last.blocks.length, block)
    }
    const leaf = before.leaf
    const bs = leaf.blocks
    return this.insertAt(leaf, at >= 0 && bs[at] === before ? at : bs.indexOf(before), block)
  }

  /**
   * Puts `right` (the tail split off `left`) right after `left`; lengths are unchanged. Returns
   * `right`'s index in its leaf afterwards (the leaf may have been split).
   */
  placeSplit(left: Block<C>, right: Block<C>): number {
    const leaf = left.leaf
    right.leaf = leaf
    const i = leaf.blocks.indexOf(left) + 1
    insertInto(leaf.blocks, i, right)
    return this.#fit(leaf, i)
  }

  /**
   * Makes the tree (empty before) hold the blocks chained from `head` (see {@link chainNext}),
   * in that order, each block's `leaf` then set to its leaf: leaves filled to
   * `LEAF_FILL` and the levels above built bottom-up, linear in the number of blocks.
   */
  build(head: Block<C> | null): void {
    if (head === null) return
    // One pass over the chain (its blocks lie all over memory): each block is read once.
    const all: Block<C>[] = []
    let level: Array<Node<C>> = []
    let leaf = new Leaf<C>()
    this.first = leaf
    let vis = 0
    let tot = 0
    for (let b: Block<C> | null = head; b !== null; ) {
      all.push(b)
      const n: Block<C> | null = chainNext(b)
      b.leaf = leaf
      tot += b.len
      if (b.state === 0) vis += b.len
      b = n
      if (all.length % LEAF_FILL === 0 || b === null) {
        // slice: arrays of exactly the leaf's length (push would leave spare capacity in each).
        leaf.blocks = all.slice(level.length * LEAF_FILL)
        leaf.vis = vis
        leaf.tot = tot
        level.push(leaf)
        if (b === null) break
        const next = new Leaf<C>()
        next.prev = leaf
        leaf.next = next
        leaf = next
        vis = 0
        tot = 0
      }
    }
    this.#last = leaf
    while (level.length > 1) {
      const up: Array<Node<C>> = []
      for (let i = 0; i < level.length; i += INNER_FILL) {
        const node = new Inner<C>()
        node.children = level.slice(i, i + INNER_FILL)
        for (const c of node.children) {
          c.parent = node
          node.vis += c.vis
          node.tot += c.tot
        }
        up.push(node)
      }
      level = up
    }
    this.root = level[0]!
  }

  /** Changes a block's state, keeping the visible sums exact. */
  setState(block: Block<C>, state: number): void {
    const was = block.state === 0
    block.state = state
    const is = state === 0
    if (was !== is) this.addLen(block.leaf, is ? block.len : -block.len, 0)
  }

  // Moves the upper half of a full leaf to a new leaf after it; returns the first index moved.
  #splitLeaf(leaf: Leaf<C>): number {
    const half = leaf.blocks.length >> 1
    const right = new Leaf<C>()
    // Fresh arrays for both halves: splice would leave the left one at its grown capacity.
    right.blocks = leaf.blocks.slice(half)
    leaf.blocks = leaf.blocks.slice(0, half)
    let vis = 0
    let tot = 0
    for (const b of right.blocks) {
      b.leaf = right
      tot += b.len
      if (b.state === 0) vis += b.len
    }
    right.vis = vis
    right.tot = tot
    leaf.vis -= vis
    leaf.tot -= tot
    right.next = leaf.next
    if (leaf.next !== null) leaf.next.prev = right
    right.prev = leaf
    leaf.next = right
    this.#addChild(leaf, right)
    return half
  }

  // Adds `node` as the sibling after `left`, growing a new root or splitting inner nodes as needed.
  #addChild(left: Node<C>, node: Node<C>): void {
    let parent = left.parent
    if (parent === null) {
      parent = new Inner<C>()
      parent.children.push(left)
      parent.vis = left.vis + node.vis
      parent.tot = left.tot + node.tot
      left.parent = parent
      this.root = parent
    }
    node.parent = parent
    parent.children.splice(parent.children.indexOf(left) + 1, 0, node)
    if (parent.children.length > INNER_MAX) {
      const half = parent.children.length >> 1
      const right = new Inner<C>()
      right.children = parent.children.splice(half)
      let vis = 0
      let tot = 0
      for (const c of right.children) {
        c.parent = right
        vis += c.vis
        tot += c.tot
      }
      right.vis = vis
      right.tot = tot
      parent.vis -= vis
      parent.tot -= tot
      this.#addChild(parent, right)
    }
  }

  /** Every block in document order. */
  *blocks(): IterableIterator<Block<C>> {
    for (let l: Leaf<C> | null = this.first; l !== null; l = l.next) yield* l.blocks
  }

  /**
   * Test-only invariant check: every node's sums equal its content, parents and leaf pointers
   * agree, the leaf chain visits leaves in tree order. Throws on the first inconsistency.
   */
  check(): void {
    const leaves: Leaf<C>[] = []
    const walk = (n: Node<C>, parent: Inner<C> | null): [number, number] => {
      if (n.parent !== parent) throw new Error('parent pointer mismatch')
      let vis = 0
      let tot = 0
      if (n.isLeaf) {
        leaves.push(n)
        for (const b of n.blocks) {
          if (b.leaf !== n) throw new Error('block leaf pointer mismatch')
          if (b.len <= 0) throw new Error('empty block')
          tot += b.len
          if (b.state === 0) vis += b.len
        }
      } else {
        if (n.children.length === 0) throw new Error('empty inner node')
        for (const c of n.children) {
          const [v, t] = walk(c, n)
          vis += v
          tot += t
        }
      }
      if (vis !== n.vis || tot !== n.tot) throw new Error(`node sums ${n.vis}/${n.tot} but content ${vis}/${tot}`)
      return [vis, tot]
    }
    walk(this.root, null)
    let l: Leaf<C> | null = this.first
    for (const leaf of leaves) {
      if (l !== leaf) throw new Error('leaf chain out of tree order')
      l = l.next
    }
    if (l !== null) throw new Error('leaf chain longer than the tree')
  }
}

// Inserts `x` at index `i` of a short array (a leaf's blocks): splice would allocate the array of
// removed items on every call, and a state load inserts tens of thousands of blocks.
function insertInto<T>(a: T[], i: number, x: T): void {
  let j = a.length
  // Indices out of range are read as splice reads them.
  if (i < 0) i = Math.max(0, j + i)
  else if (i > j) i = j
  a.push(x)
  for (; j > i; j--) a[j] = a[j - 1]!
  a[i] = x
}
