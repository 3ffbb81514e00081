/** `sluice bench readiness`: the Kperf-style readiness benchmark (see src/bench/readiness). */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { consoleTable, writeReport } from '../../bench/readiness/report.ts';
import { loadScenario, parseDurationMs } from '../../bench/readiness/scenario.ts';

let lastLine = '';
function progressBar(done: number, ready: number, total: number): void {
  const width = 30;
  const fill = Math.round((ready / Math.max(1, total)) * width);
  const line = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] created ${done}/${total} ready ${ready}/${total}`;
  if (process.stderr.isTTY) process.stderr.write(`\r${line}`);
  else if (line !== lastLine && (ready === total || (ready % Math.max(1, Math.ceil(total / 10)) === 0 && done === total))) process.stderr.write(`${line}\n`);
  lastLine = line;
}

export function register(program: Command): void {
  const bench = program.command('bench').description('benchmarks');
  bench.command('readiness')
    .description('create Knative Services at an interval and measure readiness per stage from status timestamps (Kperf metrics)')
    .option('--scenario <NAME>', 'a scenario from bench/scenarios (seed, fast, burst, scale, ci) or a YAML file; flags override it')
    .option('--services <N>', 'number of services')
    .option('--interval <D>', 'time between batches, e.g. 5s, 250ms')
    .option('--batch <B>', 'services created together at each interval')
    .option('--namespaces <K>', 'spread over K namespaces')
    .option('--namespace-prefix <P>', 'namespace name prefix', 'kperf')
    .option('--svc-prefix <P>', 'service name prefix', 'ktest')
    .option('--image <I>', 'container image')
    .option('--timeout <T>', 'how long to wait for readiness, e.g. 10m')
    .option('--output <DIR>', 'where to write readiness.csv/json/html', 'bench/results/readiness')
    .option('--kubeconfig <F>', 'kubeconfig of the target (default: STATE_DIR/kubeconfig with --state-dir, else ./.sluice/kubeconfig, then ~/.kube/config)')
    .option('--state-dir <DIR>', 'sluice state dir whose endpoints.json names processes to sample RSS from')
    .option('--cleanup', 'delete the services (and namespaces it created) afterwards', false)
    .action(async (o) => {
      const sc = o.scenario ? loadScenario(o.scenario) : undefined;
      const int = (v: string | undefined, d: number, name: string) => {
        if (v === undefined) return d;
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: want a non-negative integer, got "${v}"`);
        return n;
      };
      let rssPids: Record<string, number> | undefined;
      if (o.stateDir) {
        // endpoints.json names processes as `<name>Pid` (controlPid, gatewayPid, ...).
        const ep = JSON.parse(fs.readFileSync(path.join(o.stateDir, 'endpoints.json'), 'utf8')) as Record<string, string>;
        rssPids = Object.fromEntries(Object.entries(ep).filter(([k, v]) => k.endsWith('Pid') && /^\d+$/.test(v)).map(([k, v]) => [k.slice(0, -3), Number(v)]));
      }
      // Loaded here, not at the top: it pulls in @kubernetes/client-node, which every other sluice
      // command (the control process of `sluice up` among them) would otherwise load too — about
      // 16 MB of heap and its start-up time for nothing.
      const { runReadiness } = await import('../../bench/readiness/run.ts');
      const report = await runReadiness({
        scenario: sc?.name,
        services: int(o.services, sc?.services ?? 10, 'services'),
        intervalMs: o.interval ? parseDurationMs(o.interval, '--interval') : sc?.intervalMs ?? 1000,
        batch: Math.max(1, int(o.batch, sc?.batch ?? 1, 'batch')),
        namespaces: Math.max(1, int(o.namespaces, sc?.namespaces ?? 1, 'namespaces')),
        namespacePrefix: o.namespacePrefix,
        svcPrefix: o.svcPrefix,
        image: o.image ?? sc?.image ?? 'sluice/hello',
        timeoutMs: o.timeout ? parseDurationMs(o.timeout, '--timeout') : sc?.timeoutMs ?? 300_000,
        // The state dir's own kubeconfig when one is named (its token and CA), else ./.sluice, then ~/.kube.
        kubeconfig: o.kubeconfig ?? (o.stateDir && fs.existsSync(path.join(o.stateDir, 'kubeconfig')) ? path.join(o.stateDir, 'kubeconfig') : undefined),
        cleanup: Boolean(o.cleanup),
        templateAnnotations: sc?.annotations,
        rssPids,
        progress: progressBar,
      });
      if (process.stderr.isTTY) process.stderr.write('\n');
      const files = writeReport(o.output, report);
      console.log(consoleTable(report));
      const notReady = report.services.filter((s) => !s.ready);
      for (const s of notReady.slice(0, 20)) {
        console.log(`not ready: ${s.namespace}/${s.name}: ${(s.notReadyConditions ?? []).map((c) => `${c.type}=${c.status}${c.reason ? ` ${c.reason}` : ''}${c.message ? `: ${c.message}` : ''}`).join('; ') || 'no conditions'}`);
      }
      if (notReady.length > 20) console.log(`... and ${notReady.length - 20} more not ready`);
      console.log(`wrote ${files.csv}, ${files.json}, ${files.html}`);
      console.log(JSON.stringify(report.headline));
      if (notReady.length) process.exitCode = 1;
      // A one-shot command: the API client's keep-alive sockets must not keep a finished run alive
      // (seen: the process stayed up after writing its report while sluice kept serving). Exit once
      // everything written to stdout has been flushed.
      process.stdout.write('', () => process.exit());
    });
}
