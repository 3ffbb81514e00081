/**
 * Child process for sqlite-durability.test.ts: writes to a SqliteStore and prints one line per
 * acknowledged write, `ack <op> <name> <resourceVersion>`, only after the write's promise
 * resolved. Writes come in rounds of 1–4 concurrent creates (exercising group commit) and every
 * tenth round also deletes an object (so the persisted counter, not just object rvs, matters).
 *   node --import tsx src/store/testing/durable-writer.ts <db-file> <max-writes> [full|normal]
 */
import { SqliteStore } from '../sqlite-store.ts';

const [file, maxArg, syncArg] = process.argv.slice(2);
if (!file || (syncArg !== undefined && syncArg !== 'full' && syncArg !== 'normal')) {
  process.stderr.write('usage: durable-writer.ts <db-file> <max-writes> [full|normal]\n');
  process.exit(2);
}
const max = Math.min(Number(maxArg ?? 1000), 100_000);
const resource = 'serving.knative.dev/services';
const store = new SqliteStore({ path: file, synchronous: (syncArg ?? 'full') as 'full' | 'normal' });
const say = (line: string): void => { process.stdout.write(line + '\n'); }; // pipes are synchronous on Linux

let n = 0;
for (let round = 0; n < max; round++) {
  const width = 1 + (round % 4);
  const names = Array.from({ length: width }, (_, i) => `w-${n + i}`);
  n += width;
  const done = await Promise.all(names.map((name) => store.create(resource, {
    apiVersion: 'serving.knative.dev/v1', kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { template: { spec: { containers: [{ image: 'sluice/hello' }] } } },
  })));
  for (const o of done) say(`ack create ${o.metadata.name} ${o.metadata.resourceVersion}`);
  if (round % 10 === 9) {
    const victim = done[0]!.metadata.name!;
    const d = await store.delete(resource, 'default', victim);
    say(`ack delete ${victim} ${d.metadata.resourceVersion}`);
  }
}
await store.close();
say('done');
