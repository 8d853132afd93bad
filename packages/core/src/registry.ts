import { HearsayError, ErrorCodes } from './errors.js'
import type { Replicated, ReplicatedClass, ReplicatedOptions } from './Replicated.js'

const types = new Map<number, ReplicatedClass>()

/**
 * Makes a replicated type known by its type id, so that a node can create a replica of an
 * object it learns about from a peer. Registering the same class twice is a no-op.
 * @throws TypeError when another class already holds the id.
 */
export function registerType(type: ReplicatedClass): void {
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
