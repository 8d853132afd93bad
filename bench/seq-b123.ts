export async function runB1B3(): Promise<void> {}
