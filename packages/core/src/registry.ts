import { HearsayError, ErrorCodes } from './errors.js'
import type { Replicated, ReplicatedClass, ReplicatedOptions } from './Replicated.js'

const types = new Map<number, ReplicatedClass>()

/** The names {@link registerType} gives a type. */
export interface TypeNames {
  /** Stable numeric tag, written into states and handshakes: 1000 or above for your own types (see `FirstUserTypeId`). */
  typeId: number
  /** Human-readable name, for errors and status output. */
  typeName: string
}

/**
 * Names a replicated type and makes it known by its type id, so that a node can create a
 * replica of an object it learns about from a peer. With `names`, sets the class's static
 * `typeId` and `typeName` (the one place a type declares them); without, uses the static fields
 * the class declares. Registering the same class twice with the same names is a no-op.
 *
 * @example
 * ```ts
 * class Tags extends Replicated<string, string[]> { ... }
 * registerType(Tags, { typeId: 1000, typeName: 'Tags' })
 * ```
 * @throws TypeError when another class already holds the id, the id is not a positive safe
 *   integer, or the class was registered under other names.
 */
export function registerType(type: ReplicatedClass, names?: TypeNames): void {
  if (names !== undefined) {
    if (typeof names !== 'object' || names === null) throw new TypeError('names is { typeId, typeName }')
    const { typeId, typeName } = names
    if (!Number.isSafeInteger(typeId) || typeId <= 0) throw new TypeError(`typeId of ${String(typeName)} is a positive safe integer, got ${String(typeId)}`)
    if (typeof typeName !== 'string' || typeName === '') throw new TypeError('typeName is a non-empty string')
    const own = Object.hasOwn(type, 'typeId')
    if (own && (type.typeId !== typeId || type.typeName !== typeName)) {
      throw new TypeError(`${type.typeName} (type id ${type.typeId}) cannot be registered again as ${typeName} (type id ${typeId})`)
    }
    if (!own) {
      const holder = types.get(typeId)
      if (holder !== undefined) throw new TypeError(`type id ${typeId} is taken by ${holder.typeName}; cannot register ${typeName}`)
      Object.defineProperty(type, 'typeId', { value: typeId, enumerable: true })
      Object.defineProperty(type, 'typeName', { value: typeName, enumerable: true })
    }
  }
  const existing = types.get(type.typeId)
  if (existing === type) return
  if (existing !== undefined) throw new TypeError(`type id ${type.typeId} is taken by ${existing.typeName}; cannot register ${type.typeName}`)
  if (!Number.isSafeInteger(type.typeId) || type.typeId <= 0) throw new TypeError(`${type.typeName} has no valid static typeId`)
  types.set(type.typeId, type)
}

/** The class registered for a type id, if any. */
export function getType(typeId: number): ReplicatedClass | undefined {
  return types.get(typeId)
}

/**
 * A new replica of the type registered under `typeId`.
 * @throws HearsayError `HEARSAY_UNKNOWN_TYPE` when no type is registered for it.
 */
export function createReplica(typeId: number, options?: ReplicatedOptions): Replicated<unknown> {
  const type = types.get(typeId)
  if (type === undefined) throw new HearsayError(ErrorCodes.UNKNOWN_TYPE, `no replicated type is registered for type id ${typeId}`)
  return new type(options)
}

/** Every registered type. */
export function registeredTypes(): ReplicatedClass[] {
  return [...types.values()]
}
