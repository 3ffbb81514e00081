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
