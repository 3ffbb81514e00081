/** VHDS on the proxy against a test xDS server: virtual hosts as their own resources. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl } from '../../xds/protos.ts';
import { TestXdsServer } from '../testing/test-xds-server.ts';
import { freePort, pushAndWait, request, startProxy, startUpstream, waitFor } from '../testing/harness.ts';
import { edsCluster, hcmListener, loadAssignment, routeConfig } from '../testing/resources.ts';

const vhost = (name: string, domains: string[], cluster: string): object => ({ ...(routeConfig('x', [{ name, domains, routes: [{ prefix: '/', cluster }] }]) as { virtual_hosts: object[] }).virtual_hosts[0], name });

test('VHDS: hosts arrive as VirtualHost resources; one host changes alone; a duplicate domain is NACKed and the rest keeps serving; removal → 404', async (t) => {
  const [a, b] = [await startUpstream((req, res) => { req.resume(); res.end('A'); }), await startUpstream((req, res) => { req.resume(); res.end('B'); })];
  const xds = new TestXdsServer();
  await xds.start();
  const port = await freePort();
  xds.set(TypeUrl.Cluster, [edsCluster('ca'), edsCluster('cb')]);
  xds.set(TypeUrl.ClusterLoadAssignment, [loadAssignment('ca', [a.port]), loadAssignment('cb', [b.port])]);
  xds.set(TypeUrl.RouteConfiguration, [{ name: 'gw', virtual_hosts: [], vhds: { config_source: { ads: {}, resource_api_version: 'V3' } } }]);
  xds.set(TypeUrl.VirtualHost, [vhost('gw/one', ['one.example'], 'ca'), vhost('gw/two', ['two.example', 'two.example:*'], 'cb')]);
  xds.set(TypeUrl.Listener, [hcmListener('l', port, 'gw')]);
  const p = await startProxy(xds);
  t.after(async () => { await p.stop(); await xds.stop(); await a.close(); await b.close(); });
  await p.whenReady(5000);
  await waitFor('VHDS hosts routed', async () => (await request(port, '/', { host: 'one.example' })).body === 'A', 5000);
  assert.equal((await request(port, '/', { host: 'two.example' })).body, 'B', 'second host');
  assert.equal((await request(port, '/', { host: 'three.example' })).status, 404, 'unknown host');

  // One host changes: only that VirtualHost is sent (delta), and it takes effect.
  const pushes = xds.pushes.length;
  await pushAndWait(xds, TypeUrl.VirtualHost, [vhost('gw/one', ['one.example'], 'cb'), vhost('gw/two', ['two.example', 'two.example:*'], 'cb')]);
  assert.deepEqual(xds.pushes.slice(pushes).map((x) => x.typeUrl), [TypeUrl.VirtualHost], 'one VHDS response, no RDS');
  assert.equal((await request(port, '/', { host: 'one.example' })).body, 'B', 'the changed host routes to its new cluster');

  // A host claiming a domain another host serves is refused with a message naming both.
  const detail = await pushAndWait(xds, TypeUrl.VirtualHost, [vhost('gw/one', ['one.example'], 'cb'), vhost('gw/two', ['two.example', 'two.example:*'], 'cb'), vhost('gw/dup', ['one.example', 'dup.example'], 'ca')], { expectNack: true });
  assert.match(detail ?? '', /gw\/dup.*one\.example.*gw\/one/, `the NACK names the host, the domain and its owner: ${detail}`);
  assert.equal((await request(port, '/', { host: 'one.example' })).body, 'B', 'the accepted hosts keep serving');
  assert.equal((await request(port, '/', { host: 'dup.example' })).status, 404, 'the refused host is not served');

  // Removal.
  await pushAndWait(xds, TypeUrl.VirtualHost, [vhost('gw/one', ['one.example'], 'cb')]);
  assert.equal((await request(port, '/', { host: 'two.example' })).status, 404, 'a removed host is gone');
  assert.equal((await request(port, '/', { host: 'one.example' })).body, 'B', 'the other stays');

  // A domain moves to another resource in one response (removal + upsert): accepted.
  await pushAndWait(xds, TypeUrl.VirtualHost, [vhost('gw/moved', ['one.example'], 'ca')]);
  assert.equal((await request(port, '/', { host: 'one.example' })).body, 'A', 'the domain is served by its new resource');
});

test('VHDS index: hosts added, replaced, moved and removed one response at a time give the same domain index as indexing every host from scratch', async () => {
  const { VhdsHosts, translateVirtualHost } = await import('./vhds.ts');
  const { indexVirtualHosts } = await import('./route-config.ts');
  const { FieldCtx } = await import('./invalid-resource.ts');
  const { translateRouteConfiguration } = await import('./route-config.ts');
  const d = { connectTimeoutMs: 1000 } as never;
  let seed = 7;
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const pool = ['a.example', 'own.example', 'b.example', '*.w.example', '*.example', 'p-*', 'q*', '*', 'c.example', 'A.Example2', 'd.example'];
  const hosts = new VhdsHosts();
  const accepted = new Map<string, ReturnType<typeof translateVirtualHost>>();
  const base = { ...translateRouteConfiguration({ name: 'gw', virtual_hosts: [{ name: 'own', domains: ['own.example'], routes: [] }], vhds: {} }, d), vhds: true };
  const shape = (t: { exact: ReadonlyMap<string, { name: string }>; suffixes: readonly (readonly [string, { name: string }])[]; prefixes: readonly (readonly [string, { name: string }])[]; any?: { name: string } }) => ({
    exact: [...t.exact].map(([k, v]) => `${k}=${v.name}`).sort(),
    suffixes: t.suffixes.map(([k, v]) => `${k}=${v.name}`), // longest first: lengths must be non-increasing
    prefixes: t.prefixes.map(([k, v]) => `${k}=${v.name}`),
    any: t.any?.name,
  });
  for (let step = 0; step < 300; step++) {
    const removals: string[] = [];
    const upserts = new Map<string, ReturnType<typeof translateVirtualHost>>();
    for (let i = rnd(3); i >= 0; i--) {
      const name = `gw/h${rnd(8)}`;
      if (rnd(4) === 0) { removals.push(name); continue; }
      const domains = [...new Set([pool[rnd(pool.length)], ...(rnd(2) ? [pool[rnd(pool.length)]] : [])])];
      upserts.set(name, translateVirtualHost({ name, domains, routes: [] }, d, name));
    }
    const refused = hosts.apply(removals, upserts);
    for (const n of removals) accepted.delete(n);
    for (const [n, vh] of upserts) if (!refused.has(n)) accepted.set(n, vh);
    const ctx = new FieldCtx('RouteConfiguration', 'gw');
    let want: ReturnType<typeof shape> | string;
    try {
      want = shape(indexVirtualHosts(ctx, [...base.virtualHosts.map((vh) => ({ vh, field: 'own' })), ...[...accepted].map(([n, vh]) => ({ vh, field: n }))]));
    } catch (e) { want = 'conflict'; }
    let got: ReturnType<typeof shape> | string;
    try { got = shape(hosts.table(base)); } catch { got = 'conflict'; }
    if (typeof want !== 'string' && typeof got !== 'string') {
      // Same patterns; equal-length patterns may come in another order.
      assert.deepEqual({ ...got, suffixes: [...got.suffixes].sort(), prefixes: [...got.prefixes].sort() }, { ...want, suffixes: [...want.suffixes].sort(), prefixes: [...want.prefixes].sort() }, `step ${step}`);
      for (const list of [got.suffixes, got.prefixes]) for (let i = 1; i < list.length; i++) assert.ok(list[i - 1].split('=')[0].length >= list[i].split('=')[0].length, `step ${step}: longest first`);
    } else assert.equal(got, want, `step ${step}: a base host's domain served by a VHDS host fails either way`);
  }
  const bad = hosts.apply([], new Map([['gw/bad', translateVirtualHost({ name: 'gw/bad', domains: ['a*b.example'], routes: [] }, d, 'gw/bad')]]));
  assert.match(bad.get('gw/bad') ?? '', /wildcard only allowed at the start or end of "a\*b\.example"/);
});
