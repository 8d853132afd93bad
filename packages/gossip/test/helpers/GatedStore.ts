import { MemoryStore, type StoreEntry } from '@hearsay/core'

/** A MemoryStore whose appends wait until the test opens the gate; counts the appends that went through. */
export class GatedStore extends MemoryStore {
  #gate: Promise<void> = Promise.resolve()
  #open: () => void = () => {}
  appends = 0
  closeGate(): void {
    this.#gate = new Promise((r) => (this.#open = r))
  }
  openGate(): void {
    this.#open()
  }
  override async append(entries: readonly StoreEntry[]): Promise<void> {
    await this.#gate
    this.appends++
    return super.append(entries)
  }
}
