import type { Output } from './client.js'
export async function labCommand(_args: readonly string[], _io: Output): Promise<number> {
  return 1
}
