/**
 * The cascade case, end to end: the CPU class (hpa.autoscaling.knative.dev, metric cpu) on
 * `sluice/work` whose new pods burn 5× CPU per request for their first seconds (WORK_WARMUP_S /
 * WORK_WARMUP_FACTOR). A step load that needs about two pods once warm is applied twice, in two
 * `sluice up` runs that differ only in `exclude-warming-pods`:
 *  - with warm-up exclusion (the default) the revision never runs more than 1.25× the
 *    steady-state pod count;
 *  - without it, the warming pod's CPU raises the average and more pods are added: the run
 *    overshoots, which shows the test measures what it claims.
 * CPU is read per pod process from /proc. Load is open-loop at a fixed rate (5 rps × 20 ms CPU
 * against a 100m request and a 40 % target: about 1.5–2.5× one pod's target once warm, so the
 * steady state is 2–3 pods), bounded in count and time. On a loaded 2-core machine CPU time per
 * request varies (the app burns wall time), so the steady-state count is measured — the pods the
 * exclusion run settles at, at least 2 — rather than assumed. The file takes about 2.5 minutes:
 * two `sluice up` runs, each waiting out a 20 s warm-up before a 32 s step. A pod's first CPU
 * sample covers its process start; like Kubernetes, the decider never counts it while the pod is
 * in its initialization period, so both runs start the step from one warm pod.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayGet, ksvc, revisionScale, SERVICES, startSluice, until, type Sluice } from './autoscale-harness.ts';

const RPS = 5;
const LOAD_MS = 32_000;
const WARMUP_S = 20;

function config(exclude: boolean): string {
  return [
    '  hpa-sync-period: 1s',
    '  cpu-initialization-period: 21s',
    `  exclude-warming-pods: ${exclude}`,
    '',
  ].join('\n');
}

async function run(exclude: boolean, diag: (m: string) => void): Promise<{ max: number; end: number; ok: number; sent: number }> {
  const s: Sluice = await startSluice(config(exclude), { prefix: 'sluice-cascade-', logLevel: 'debug' });
  try {
    const svc = ksvc('work', 'sluice/work', {
      env: { WORK_CPU_MS: '20', WORK_WARMUP_S: String(WARMUP_S), WORK_WARMUP_FACTOR: '5' },
      annotations: {
        'autoscaling.knative.dev/class': 'hpa.autoscaling.knative.dev',
        'autoscaling.knative.dev/metric': 'cpu',
        'autoscaling.knative.dev/target': '40',
        'autoscaling.knative.dev/max-scale': '8',
      },
    });
    (svc.spec as any).template.spec.containers[0].resources = { requests: { cpu: '100m' } };
    const created = await s.api('POST', SERVICES, svc);
    assert.equal(created.status, 201, `service created: ${JSON.stringify(created.body)}`);
    const host = await until('service Ready', async () => {
      const r = await s.api('GET', `${SERVICES}/work`);
      return r.body?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status === 'True' ? new URL(r.body.status.url).host : undefined;
    }, 90_000);
    // Let the first pod finish its warm-up and CPU initialization period: the step starts from one warm pod.
    await new Promise((r) => setTimeout(r, (WARMUP_S + 2) * 1000));

    let max = 0;
    let sent = 0, ok = 0;
    const watch = setInterval(() => {
      revisionScale(s, 'work-00001').then((sc) => { max = Math.max(max, sc.desired ?? 0, sc.actual ?? 0); }, () => {});
    }, 250);
    const inflight: Promise<void>[] = [];
    const t0 = Date.now();
    try {
      // Open loop: RPS requests a second, at most RPS × LOAD_MS / 1000 in all.
      while (Date.now() - t0 < LOAD_MS && sent < (RPS * LOAD_MS) / 1000) {
        sent++;
        inflight.push(gatewayGet(s.endpoints.gateway!, host, '/', 30_000).then((r) => { if (r.status === 200) ok++; }, () => {}));
        await new Promise((r) => setTimeout(r, 1000 / RPS));
      }
      await Promise.all(inflight);
    } finally { clearInterval(watch); }
    const end = (await revisionScale(s, 'work-00001')).actual ?? 0;
    diag(`exclude-warming-pods ${exclude}: most pods ${max}, pods at the end ${end}, ${ok}/${sent} answered 200`);
    // The run logs at debug level, so the CPU decisions are in the output: show the trail.
    for (const line of s.output().split('\n')) {
      if (!line.includes('cpu decision')) continue;
      try {
        const j = JSON.parse(line);
        diag(`  ${new Date(j.time).toISOString().slice(14, 23)} desired ${j.desired} rec ${j.recommendation} usage ${Number(j.usageRatio ?? NaN).toFixed(2)} counted ${j.counted} ignored ${j.ignored} ${j.reason}`);
      } catch { /* not a log line */ }
    }
    return { max, end, ok, sent };
  } finally {
    await s.stop();
  }
}

test('CPU class under a step load: warm-up exclusion stays within 1.25× steady state; without it the run overshoots', async (t) => {
  const withExclusion = await run(true, (m) => t.diagnostic(m));
  const steady = withExclusion.end;
  assert.ok(withExclusion.ok >= withExclusion.sent * 0.9, `almost all requests answered (${withExclusion.ok}/${withExclusion.sent})`);
  assert.ok(steady >= 2, `the step load needs more than one pod once warm (steady state ${steady})`);
  assert.ok(withExclusion.max <= 1.25 * steady, `with exclusion at most 1.25 × ${steady} pods, saw ${withExclusion.max}`);

  const without = await run(false, (m) => t.diagnostic(m));
  assert.ok(without.max > 1.25 * steady, `without exclusion the warming pods' CPU overshoots 1.25 × ${steady} pods, saw ${without.max}`);
});
