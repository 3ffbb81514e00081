import { runStoreContract } from './store-contract.ts';
import { MemoryStore } from './memory-store.ts';

runStoreContract('memory', async (opts) => {
  const store = new MemoryStore({ clock: opts?.clock, historyLimit: opts?.historyLimit });
  return { store, cleanup: () => store.close() };
});
