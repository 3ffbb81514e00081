/**
 * A restart of `sluice up` on the same state keeps a scaled-to-zero revision at zero: the
 * autoscaler resumes each revision at the scale its status records once it reached its initial
 * scale, instead of applying initial-scale again (which started a pod for every revision at zero:
 * 3,300 pods within two minutes of restarting with 10,000 of them). A request still wakes it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayGet, ksvc, revisionScale, SERVICES, startSluice, until, type Sluice } from './autoscale-harness.ts';

const AUTOSCALER = ['  stable-window: 6s', '  scale-to-zero-grace-period: 1s', '  tick-interval: 1s', ''].join('\n');

test('after a restart a revision at zero stays at zero, and the next request still scales it up', async () => {
  let s: Sluice | undefined = await startSluice(AUTOSCALER, { logLevel: 'info', prefix: 'sluice-restart-' });
  const dir = s.dir;
  try {
    const created = await s.api('POST', SERVICES, ksvc('idle', 'sluice/hello', { env: { TARGET: 'Restart' } }));
    assert.equal(created.status, 201, `service created: ${JSON.stringify(created.body)}`);
    await until('scale to zero', async () => { const sc = await revisionScale(s!, 'idle-00001'); return sc.ready === 'True' && sc.desired === 0 && sc.actual === 0; }, 90_000);
    await s.stop({ keepState: true });
    s = undefined;

    s = await startSluice(AUTOSCALER, { logLevel: 'info', dir });
    // Several autoscaler ticks and revision reconciles: no pod may start.
    const seen = new Set<number>();
    const end = Date.now() + 8_000;
    while (Date.now() < end) {
      for (const p of s.podPids('idle-00001')) seen.add(p);
      await new Promise((r) => setTimeout(r, 100));
    }
    const sc = await revisionScale(s, 'idle-00001');
    assert.deepEqual([...seen], [], `no pod started after the restart (scale ${JSON.stringify(sc)}; log: ${s.output().split('\n').filter((l) => l.includes('idle-00001')).slice(-5).join(' | ')})`);
    assert.equal(sc.desired, 0, 'desired scale stays 0');

    const svc = await s.api('GET', `${SERVICES}/idle`);
    const host = new URL(svc.body.status.url as string).host;
    const r = await gatewayGet(s.endpoints.gateway!, host, '/');
    assert.equal(r.status, 200, `answered through the activator: ${r.status} ${r.body}`);
    assert.equal(r.body, 'Hello Restart!\n');
  } finally {
    await s?.stop();
  }
});
