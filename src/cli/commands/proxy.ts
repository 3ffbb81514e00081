/** `sluice proxy --bootstrap FILE`: run the data-plane proxy (gateway or mesh role) configured over xDS. */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { io } from '../io.ts';

function intArg(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be a non-negative integer, got "${v}"`);
    return Number(v);
  };
}

interface ProxyCliOptions { bootstrap: string; concurrency?: number; maxMemory?: number; httpPort?: number; httpsPort?: number; adminPort?: number }

export function register(program: Command): void {
  program
    .command('proxy')
    .description('run the sluice proxy (ingress gateway or mesh proxy), configured only over xDS')
    .requiredOption('--bootstrap <file>', 'bootstrap file (YAML or JSON): node, xds_server, admin, role, listen')
    .option('--concurrency <n>', 'worker processes (default 2)', intArg('--concurrency'))
    .option('--max-memory <mb>', 'RSS cap per worker in MB; a worker past it drains and is replaced', intArg('--max-memory'))
    .option('--http-port <n>', 'gateway HTTP port (0 picks a free port)', intArg('--http-port'))
    .option('--https-port <n>', 'gateway HTTPS port (0 picks a free port)', intArg('--https-port'))
    .option('--admin-port <n>', 'admin server port on loopback', intArg('--admin-port'))
    .action(async (o: ProxyCliOptions) => {
      try {
        // Loaded here: the other commands do not need the proxy's data path.
        const { runProxy } = await import('../../proxy/main.ts');
        const p = await runProxy({ bootstrap: o.bootstrap, concurrency: o.concurrency, maxMemoryMb: o.maxMemory, httpPort: o.httpPort, httpsPort: o.httpsPort, adminPort: o.adminPort });
        io.out(`sluice proxy: ${p.bootstrap.role} ${p.bootstrap.node.id}, admin 127.0.0.1:${p.adminPort}${p.bootstrap.role === 'gateway' ? `, http :${p.httpPort}, https :${p.httpsPort}` : ''}\n`);
        // Runs until SIGTERM/SIGINT (handled by runProxy: drain, then exit).
        await new Promise(() => {});
      } catch (e) {
        io.err(`sluice proxy: ${(e as Error).message}\n`);
        io.exitCode = 1;
      }
    });
}
