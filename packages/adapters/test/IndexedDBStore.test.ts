import 'fake-indexeddb/auto'
import { reopenableFixture, storeSuite } from '@hearsay/core/testing'
import { IndexedDBStore } from '@hearsay/adapters/web'

// IndexedDBStore on an IndexedDB: fake-indexeddb (a complete IndexedDB in JavaScript, checked
// against the W3C web-platform tests) stands in for the browser's here. Each test gets its own
// database name; reopen opens a second store on the same database, as a page reload does.
let n = 0
storeSuite('IndexedDBStore (browser-level on IndexedDB)', () => {
  const name = `hearsay-suite-${process.pid}-${++n}`
  return reopenableFixture(() => new IndexedDBStore(name))
})
