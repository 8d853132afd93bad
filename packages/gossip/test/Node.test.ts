import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { LWWMap } from '@hearsay/model'
import { TestNet, waitFor } from './helpers/net.ts'

describe('Node over mem://', () => {
  it('two nodes converge on an LWWMap', async () => {
    const net = new TestNet()
    try {
      const a = net.node({ id: 'a' })
      const b = net.node({ id: 'b' })
      await a.listen(net.address('a'))
      assert.equal(await b.connect(net.address('a')), 'a')
      const ma = await a.open('prices', LWWMap)
      ma.set('apples', 3)
      await waitFor(() => (b.get('prices') as LWWMap | undefined)?.get('apples') === 3, 'b sees apples')
      const mb = await b.open('prices', LWWMap)
      mb.set('pears', 5)
      await waitFor(() => ma.get('pears') === 5, 'a sees pears')
      assert.deepEqual(ma.toJSON(), mb.toJSON())
    } finally {
      await net.close()
    }
  })
})
