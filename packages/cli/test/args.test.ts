import { test } from 'node:test'
import assert from 'node:assert/strict'
import { UsageError, closest, parseAddress, parseCommand, parseDuration, parseInteger, parseProbability } from '../src/args.ts'

test('durations, probabilities and integers parse, and name the flag when they do not', () => {
  assert.equal(parseDuration('lab', '--latency', '50ms'), 50)
  assert.equal(parseDuration('lab', '--latency', '1.5s'), 1500)
  assert.equal(parseDuration('lab', '--latency', '2m'), 120_000)
  assert.equal(parseDuration('lab', '--latency', '40'), 40)
  assert.throws(() => parseDuration('lab', '--latency', '5 parsecs'), (e: Error) => e instanceof UsageError && /--latency takes a duration/.test(e.message))
  assert.equal(parseProbability('lab', '--loss', '0.2'), 0.2)
  assert.equal(parseProbability('lab', '--loss', '20%'), 0.2)
  assert.throws(() => parseProbability('lab', '--loss', '1'), /--loss takes a probability/)
  assert.throws(() => parseProbability('lab', '--loss', ''), /--loss/)
  assert.equal(parseInteger('lab', '--nodes', '8', 2, 64), 8)
  assert.throws(() => parseInteger('lab', '--nodes', '1', 2, 64), /--nodes takes a whole number from 2 to 64/)
  assert.throws(() => parseInteger('lab', '--nodes', '3.5', 2, 64), /--nodes/)
})

test('addresses: ws, wss and tcp with a port; anything else names the flag', () => {
  assert.equal(parseAddress('peer', '--peer', 'tcp://127.0.0.1:7002'), 'tcp://127.0.0.1:7002')
  assert.equal(parseAddress('peer', '--peer', 'ws://127.0.0.1:7001/x'), 'ws://127.0.0.1:7001/x')
  assert.throws(() => parseAddress('peer', '--peer', 'tcp://127.0.0.1'), /give a port/)
  assert.throws(() => parseAddress('peer', '--listen', 'udp://1.2.3.4:5'), /--listen udp:\/\/1\.2\.3\.4:5: the scheme must be/)
  assert.throws(() => parseAddress('peer', '--peer', 'nonsense'), /--peer takes an address/)
})

test('parseCommand is strict and suggests the closest flag', () => {
  const opts = { data: { type: 'string' as const }, json: { type: 'boolean' as const } }
  assert.deepEqual({ ...parseCommand('ls', ['--data', 'x', '--json'], opts).values }, { data: 'x', json: true })
  assert.throws(() => parseCommand('ls', ['--jsn'], opts), /unknown flag --jsn for 'hearsay ls': did you mean --json\?/)
  assert.throws(() => parseCommand('ls', ['--zzzzzz'], opts), /run 'hearsay ls --help'/)
  assert.throws(() => parseCommand('ls', ['--data'], opts), /flag --data needs a value/)
  assert.throws(() => parseCommand('ls', ['--json=yes'], opts), /flag --json takes no value/)
  assert.equal(closest('stauts', ['status', 'put']), 'status')
  assert.equal(closest('xyzzy', ['status', 'put']), undefined)
})
