import { Emitter, type Value } from '@hearsay/core'

/** What a {@link Row} needs from its {@link Doc}; the Doc supplies it. */
export interface RowHost {
  readonly replicaId: string
  fieldOf(id: string, key: string): Value | undefined
  fieldsOf(id: string): Record<string, Value>
  isLive(id: string): boolean
  write(id: string, fields: Record<string, Value>): void
}

/** A row's fields as plain data, with its `id`. */
export type RowData = { readonly id: string } & { readonly [key: string]: Value }

/** What a {@link Row} emits. */
export interface RowEvents {
  /** Fields changed: their new values, `undefined` for a field the row lost to a remove. */
  change: (changed: Record<string, Value | undefined>) => void
  /** The row was removed, local or remote. */
  removed: () => void
}

/**
 * One row of a {@link Doc}: an id and fields, each field last-writer-wins. Obtain rows from
 * `doc.add()`, `doc.get()` or a live query; one Row object per id for the life of the Doc.
 *
 * Events: `change` (changed: the fields whose value changed, `undefined` for a field the row
 * lost to a remove), `removed` when the row is removed, local or remote.
 */
export class Row extends Emitter<RowEvents> {
  /** The row's id, unique in its Doc. */
  readonly id: string
  readonly #host: RowHost

  /** Rows are made by their Doc; use `doc.add()` or `doc.get()`. */
  constructor(id: string, host: RowHost) {
    super()
    this.id = id
    this.#host = host
  }

  /**
   * Sets one field, or several at once (`row.set({ a: 1, b: 2 })` is one atomic update: every
   * replica sees both or neither). Setting fields of a removed row brings it back with them.
   * Returns this row.
   * @throws TypeError for the field `id`, `__proto__`, a non-string key or a value that is not replicable.
   */
  set(key: string, value: Value): this
  set(fields: Record<string, Value>): this
  set(keyOrFields: string | Record<string, Value>, value?: Value): this {
    if (typeof keyOrFields === 'string') this.#host.write(this.id, { [keyOrFields]: value as Value })
    else {
      if (keyOrFields === null || typeof keyOrFields !== 'object') throw new TypeError('row.set takes (key, value) or an object of fields')
      this.#host.write(this.id, keyOrFields)
    }
    return this
  }

  /** A field's value (`id` gives the id), or undefined. */
  get(key: string): Value | undefined {
    if (key === 'id') return this.id
    return this.#host.fieldOf(this.id, key)
  }

  /** False once the row has been removed (and not set again since). */
  get live(): boolean {
    return this.#host.isLive(this.id)
  }

  /** The row as plain data: `{ id, ...fields }`, fields in code-unit order. */
  toJSON(): RowData {
    return { id: this.id, ...this.#host.fieldsOf(this.id) } as RowData
  }
}
