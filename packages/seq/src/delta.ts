/** One step of a {@link Delta}: keep `retain` items, insert content, or delete `delete` items. */
export type DeltaOp<C> = { retain: number } | { insert: C } | { delete: number }

/**
 * A change to a sequence as steps from its start: `[{ retain: 5 }, { insert: 'hi' }]` inserts
 * "hi" at index 5; `[{ retain: 2 }, { delete: 3 }]` removes three items from index 2. Indices
 * count UTF-16 code units for Text and elements for List. Trailing retains are omitted.
 */
export type Delta<C> = Array<DeltaOp<C>>

/**
 * Applies a delta to a string and returns the new string.
 * @throws RangeError when the delta reaches past the end of `text`.
 */
export function applyTextDelta(text: string, delta: Delta<string>): string {
  let out = ''
  let i = 0
  for (const op of delta) {
    if ('retain' in op) {
      if (i + op.retain > text.length) throw new RangeError('delta retains past the end')
      out += text.slice(i, i + op.retain)
      i += op.retain
    } else if ('insert' in op) out += op.insert
    else {
      if (i + op.delete > text.length) throw new RangeError('delta deletes past the end')
      i += op.delete
    }
  }
  return out + text.slice(i)
}

/**
 * Applies a delta to an array and returns a new array.
 * @throws RangeError when the delta reaches past the end of `items`.
 */
export function applyListDelta<T>(items: readonly T[], delta: Delta<readonly T[]>): T[] {
  const out: T[] = []
  let i = 0
  for (const op of delta) {
    if ('retain' in op) {
      if (i + op.retain > items.length) throw new RangeError('delta retains past the end')
      for (let k = 0; k < op.retain; k++) out.push(items[i++]!)
    } else if ('insert' in op) out.push(...op.insert)
    else {
      if (i + op.delete > items.length) throw new RangeError('delta deletes past the end')
      i += op.delete
    }
  }
  while (i < items.length) out.push(items[i++]!)
  return out
}
