import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Replicated, registerType, getType, createReplica, registeredTypes, isHearsayError, ErrorCodes, type Update } from '@hearsay/core'
import { TestGSet, BrokenRegister } from './helpers/types.ts'

test('types register by id, and a replica is created from its type id', () => {
  registerType(TestGSet)
  registerType(TestGSet)
  assert.equal(getType(TestGSet.typeId), TestGSet)
  assert.ok(registeredTypes().includes(TestGSet))
  const r = createReplica(TestGSet.typeId, { id: 'made' })
  assert.ok(r instanceof TestGSet)
  assert.equal(r.id, 'made')
})

test('an id taken by another class, or an unknown id, is refused', () => {
  class Impostor extends BrokenRegister {
    static override readonly typeId = TestGSet.typeId
  }
  registerType(TestGSet)
  assert.throws(() => registerType(Impostor), TypeError)
  assert.throws(() => createReplica(123456), (e) => isHearsayError(e, ErrorCodes.UNKNOWN_TYPE))
})

test('registerType(Type, { typeId, typeName }) names a type in one call', () => {
  class Named extends Replicated<string> {
    protected applyOp(): boolean {
      return true
    }
    protected history(): Iterable<Update<string>> {
      return []
    }
    toJSON(): null {
      return null
    }
  }
  assert.throws(() => new Named({ id: 'x' }), /Named has no type id: call registerType\(Named, \{ typeId, typeName \}\) first/)
  // TestGSet's own static id is inherited until the registration gives Named its own.
  class Fresh extends BrokenRegister {}
  assert.throws(() => registerType(Fresh, { typeId: TestGSet.typeId, typeName: 'Fresh' }), /type id \d+ is taken by TestGSet/)
  assert.equal(Object.hasOwn(Fresh, 'typeId'), false, 'a refused registration names nothing')
  registerType(Fresh, { typeId: 9701, typeName: 'Fresh' })
  assert.equal(Fresh.typeId, 9701)
  assert.equal(Fresh.typeName, 'Fresh')
  assert.equal(new Fresh({ id: 'f' }).typeName, 'Fresh')
  assert.equal(getType(9701), Fresh)
  registerType(Fresh, { typeId: 9701, typeName: 'Fresh' })
  assert.throws(() => registerType(Fresh, { typeId: 9702, typeName: 'Fresh' }), /cannot be registered again/)
  assert.throws(() => registerType(class extends TestGSet {}, { typeId: 0, typeName: 'Zero' }), /positive safe integer/)
  assert.throws(() => registerType(class extends TestGSet {}, { typeId: 9703, typeName: '' }), /non-empty string/)
})
