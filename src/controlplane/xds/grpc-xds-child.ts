/**
 * Child process for the proxyless-gRPC acceptance test: registers @grpc/grpc-js-xds (its `xds:`
 * resolver reads GRPC_XDS_BOOTSTRAP_CONFIG, set by the parent), makes `--calls` unary calls to
 * `xds:///<target>` and prints one JSON line: how many calls each backend answered. Runs in its own
 * process so the bootstrap env var and the global resolver registration do not leak into tests.
 *
 *   node --import tsx grpc-xds-child.ts <target> <calls> <deadlineMs>
 */
import * as grpc from '@grpc/grpc-js';
import { register } from '@grpc/grpc-js-xds';
import { whoService } from './who-service.ts';

async function main(): Promise<void> {
  const [target, callsArg, deadlineArg] = process.argv.slice(2);
  const calls = Number(callsArg ?? 1000);
  const deadline = Date.now() + Number(deadlineArg ?? 20_000);
  register();
  const Client = grpc.makeGenericClientConstructor(whoService, 'Who');
  const client = new Client(`xds:///${target}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & { WhoAmI: (req: object, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: { name: string }) => void) => void };
  const counts: Record<string, number> = {};
  let errors = 0;
  let lastError = '';
  const one = (): Promise<void> => new Promise((resolve) => {
    client.WhoAmI({}, { deadline: Math.min(deadline, Date.now() + 20_000) }, (err, res) => {
      if (err || !res) { errors++; lastError = err?.message ?? 'empty'; } else counts[res.name] = (counts[res.name] ?? 0) + 1;
      resolve();
    });
  });
  // First call waits for xDS to deliver the config; then the rest, 20 at a time.
  await new Promise<void>((resolve) => {
    client.waitForReady(deadline, () => resolve());
  });
  let done = 0;
  while (done < calls && Date.now() < deadline) {
    const batch = Math.min(20, calls - done);
    await Promise.all(Array.from({ length: batch }, one));
    done += batch;
  }
  client.close();
  process.stdout.write(JSON.stringify({ counts, errors, lastError, done }) + '\n');
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stdout.write(JSON.stringify({ fatal: String(e) }) + '\n');
  process.exit(1);
});
