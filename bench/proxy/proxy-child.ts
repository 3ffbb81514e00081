/** Runs `runProxy` (the same code path as `sluice proxy`) in its own process for the bench. */
import { runProxy } from '../../src/proxy/main.ts';

const [bootstrap] = process.argv.slice(2);
runProxy({ bootstrap: bootstrap!, concurrency: 1 }).then((p) => {
  process.send?.({ ready: true, adminPort: p.adminPort, pids: p.supervisor.pids() });
}, (e) => { process.stderr.write(`${(e as Error).message}\n`); process.exit(1); });
