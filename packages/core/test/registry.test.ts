import { test } from 'node:test'
import assert from 'node:assert/strict'
import { registerType, getType, createReplica, registeredTypes, isHearsayError, ErrorCodes } from '@hearsay/core'
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
