import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { TypeUrl, decodeResource, encodeResource } from '../../xds/protos.ts';
import { isSluiceError } from '../../lib/errors.ts';
import { buildSnapshot, changesBetween, MAX_DIFF_STEPS, type Snapshot, type TypeEntries } from './snapshot.ts';
import { proxyInfoFromNode, structToStrings } from './node-info.ts';
import { edsCluster, loadAssignment } from './test-fixtures.ts';

test('snapshot: content-hash versions; unchanged resources keep their entry; carried-over types are reused whole', () => {
  const a = buildSnapshot({ [TypeUrl.Cluster]: new Map([['a', edsCluster('a')], ['b', edsCluster('b')]]), [TypeUrl.ClusterLoadAssignment]: new Map([['a', loadAssignment('a', [1])]]) }, 1);
  const again = buildSnapshot({ [TypeUrl.Cluster]: new Map([['a', edsCluster('a')], ['b', edsCluster('b')]]), [TypeUrl.ClusterLoadAssignment]: new Map([['a', loadAssignment('a', [1])]]) }, 2, a);
  assert.ok(again.sameContent(a));
  assert.equal(again.get(TypeUrl.Cluster, 'a'), a.get(TypeUrl.Cluster, 'a'), 'same entry object: not re-encoded');
  const other = buildSnapshot({ [TypeUrl.Cluster]: new Map([['a', edsCluster('a')]]) }, 1);
  assert.equal(other.get(TypeUrl.Cluster, 'a')!.version, a.get(TypeUrl.Cluster, 'a')!.version, 'a version is a content hash');
  const eds = buildSnapshot({ [TypeUrl.ClusterLoadAssignment]: new Map([['a', loadAssignment('a', [2])]]) }, 3, a, new Set([TypeUrl.ClusterLoadAssignment]));
  assert.equal(eds.entries(TypeUrl.Cluster), a.entries(TypeUrl.Cluster), 'clusters carried over');
  assert.notEqual(eds.get(TypeUrl.ClusterLoadAssignment, 'a')!.version, a.get(TypeUrl.ClusterLoadAssignment, 'a')!.version);
  assert.equal(eds.sameContent(a), false);
});

test('snapshot: each rebuilt type records what changed and what left since the entries it was built from', () => {
  const a = buildSnapshot({ [TypeUrl.Cluster]: new Map([['a', edsCluster('a')], ['b', edsCluster('b')], ['c', edsCluster('c')]]) }, 1);
  assert.deepEqual(a.diff(TypeUrl.Cluster)?.changed, ['a', 'b', 'c'], 'a first build: everything is new');
  const b = buildSnapshot({ [TypeUrl.Cluster]: new Map([['a', edsCluster('a')], ['b', edsCluster('b', { lb_policy: 'RANDOM' })], ['d', edsCluster('d')]]) }, 2, a);
  const d = b.diff(TypeUrl.Cluster)!;
  assert.equal(d.from, a.entries(TypeUrl.Cluster));
  assert.deepEqual([...d.changed].sort(), ['b', 'd']);
  assert.deepEqual(d.removed, ['c']);
  const same = buildSnapshot({ [TypeUrl.Cluster]: new Map([['a', edsCluster('a')], ['b', edsCluster('b', { lb_policy: 'RANDOM' })], ['d', edsCluster('d')]]) }, 3, b);
  assert.equal(same.entries(TypeUrl.Cluster), b.entries(TypeUrl.Cluster), 'unchanged: the same map, no diff needed');
  assert.equal(same.diff(TypeUrl.Cluster), undefined);
  const gone = buildSnapshot({}, 4, b);
  assert.deepEqual([...gone.diff(TypeUrl.Cluster)!.removed].sort(), ['a', 'b', 'd'], 'a type that empties removes every name');
});

test('snapshot: an equal resource built as a new object keeps its entry, which then answers to the new object (no hash on the next build)', () => {
  const first = edsCluster('a');
  const a = buildSnapshot({ [TypeUrl.Cluster]: new Map([['a', first]]) }, 1);
  const second = edsCluster('a'); // equal content, another object
  const b = buildSnapshot({ [TypeUrl.Cluster]: new Map([['a', second]]) }, 2, a);
  assert.equal(b.entries(TypeUrl.Cluster), a.entries(TypeUrl.Cluster), 'nothing changed: the previous map is kept');
  assert.equal(b.get(TypeUrl.Cluster, 'a')!.source, second, 'the entry now answers to the new object');
  const c = buildSnapshot({ [TypeUrl.Cluster]: new Map([['a', second]]) }, 3, b);
  assert.equal(c.entries(TypeUrl.Cluster), a.entries(TypeUrl.Cluster));
});

test('snapshot: changesBetween walks the builds from older entries to the current ones', () => {
  const a = buildSnapshot({ [TypeUrl.Cluster]: new Map([['a', edsCluster('a')], ['b', edsCluster('b')]]) }, 1);
  const b = buildSnapshot({ [TypeUrl.Cluster]: new Map([['a', edsCluster('a', { lb_policy: 'RANDOM' })], ['b', edsCluster('b')], ['c', edsCluster('c')]]) }, 2, a);
  const c = buildSnapshot({ [TypeUrl.Cluster]: new Map([['a', edsCluster('a', { lb_policy: 'RANDOM' })], ['c', edsCluster('c')]]) }, 3, b);
  const d = buildSnapshot({}, 4, c); // every cluster gone
  const since = changesBetween(a.entries(TypeUrl.Cluster), c.entries(TypeUrl.Cluster))!;
  assert.deepEqual([...since.changed].sort(), ['a', 'c']);
  assert.deepEqual(since.removed, ['b']);
  assert.deepEqual(changesBetween(c.entries(TypeUrl.Cluster), c.entries(TypeUrl.Cluster)), { changed: [], removed: [] });
  assert.deepEqual([...changesBetween(b.entries(TypeUrl.Cluster), d.entries(TypeUrl.Cluster))!.removed].sort(), ['a', 'b', 'c']);
  const unrelated = buildSnapshot({ [TypeUrl.Cluster]: new Map([['a', edsCluster('a')]]) }, 1);
  assert.equal(changesBetween(unrelated.entries(TypeUrl.Cluster), c.entries(TypeUrl.Cluster)), undefined, 'not an ancestor: undefined (compare everything)');
});

test('snapshot: the diff chain keeps no older entries maps alive and still walks MAX_DIFF_STEPS builds back', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  // Each build changes one cluster, so every build has its own entries map.
  const build = (i: number, prev?: Snapshot) => buildSnapshot({ [TypeUrl.Cluster]: new Map([['a', edsCluster('a', { lb_policy: i % 2 ? 'RANDOM' : 'ROUND_ROBIN' })], [`c${i}`, edsCluster(`c${i}`)]]) }, i, prev);
  let snap = build(0);
  const refs: WeakRef<TypeEntries>[] = [new WeakRef(snap.entries(TypeUrl.Cluster))];
  const held = snap.entries(TypeUrl.Cluster); // a stream settled on build 0 would hold this
  let atLimit: TypeEntries | undefined;
  for (let i = 1; i <= 3 * MAX_DIFF_STEPS; i++) {
    snap = build(i, snap);
    refs.push(new WeakRef(snap.entries(TypeUrl.Cluster)));
    if (i === 2 * MAX_DIFF_STEPS) atLimit = snap.entries(TypeUrl.Cluster); // MAX_DIFF_STEPS builds before the last
  }
  await new Promise((r) => setImmediate(r)); // WeakRefs made in this turn stay alive until it ends
  gc();
  const alive = refs.map((r, i) => (r.deref() ? i : -1)).filter((i) => i >= 0);
  // Build 0 and atLimit (held here), the one before the newest (the snapshot's own diff) and the newest.
  assert.deepEqual(alive, [0, 2 * MAX_DIFF_STEPS, 3 * MAX_DIFF_STEPS - 1, 3 * MAX_DIFF_STEPS], 'only the maps someone holds');
  const newest = snap.entries(TypeUrl.Cluster);
  const since = changesBetween(atLimit!, newest)!;
  assert.deepEqual([...since.removed].sort(), [...Array(MAX_DIFF_STEPS).keys()].map((k) => `c${2 * MAX_DIFF_STEPS + k}`).sort(), 'MAX_DIFF_STEPS builds back, over collected maps: walkable');
  assert.ok(since.changed.includes('a'));
  assert.equal(changesBetween(held, newest), undefined, 'further back: the caller compares everything');
});

test('snapshot: a resource that does not encode is refused with its type and name', () => {
  assert.throws(() => buildSnapshot({ [TypeUrl.Cluster]: new Map([['bad', { name: 'bad', connect_timeout: 'soon' }]]) }, 1), (e: unknown) => {
    assert.ok(isSluiceError(e, 'SLUICE_E_XDS_ENCODE'));
    assert.match((e as Error).message, /Cluster "bad"/);
    return true;
  });
});

test('node info: role and namespace from metadata, Istio ids, and clear errors', () => {
  const md = { fields: { SLUICE_ROLE: { stringValue: 'gateway', kind: 'stringValue' }, SLUICE_PORTS: { stringValue: 'http:8080,https:8443' } } };
  assert.deepEqual(structToStrings(md), { SLUICE_ROLE: 'gateway', SLUICE_PORTS: 'http:8080,https:8443' });
  const gw = proxyInfoFromNode({ id: 'gw-1', metadata: md });
  assert.equal(gw.role, 'gateway');
  assert.deepEqual(gw.ports, { http: 8080, https: 8443 });
  const mesh = proxyInfoFromNode({ id: 'p', metadata: { NAMESPACE: 'team-a' } });
  assert.deepEqual([mesh.role, mesh.namespace], ['mesh', 'team-a']);
  const istio = proxyInfoFromNode({ id: 'router~10.0.0.1~istio-ingressgateway-1.istio-system~istio-system.svc.cluster.local' });
  assert.deepEqual([istio.role, istio.namespace], ['gateway', 'istio-system']);
  assert.throws(() => proxyInfoFromNode(undefined), /must carry `node`/);
  assert.throws(() => proxyInfoFromNode({ id: '' }), /node\.id is empty/);
  assert.throws(() => proxyInfoFromNode({ id: 'x', metadata: { SLUICE_ROLE: 'waypoint' } }), /SLUICE_ROLE="waypoint" must be "gateway" or "mesh"/);
  assert.throws(() => proxyInfoFromNode({ id: 'x', metadata: { SLUICE_PORTS: 'http:99999' } }), /SLUICE_PORTS/);
});

test('snapshot: a route configuration with many virtual hosts is encoded host by host, decodes to the same configuration, and re-encodes only when a host object changes', () => {
  const vhost = (i: number, v = 'a'): object => ({ name: `h${i}`, domains: [`h${i}.example.com`, `h${i}.example.com:*`], routes: [{ match: { prefix: '/' }, route: { cluster: `c${i}` }, request_headers_to_add: [{ header: { key: 'x-v', value: v } }] }] });
  const hosts = Array.from({ length: 100 }, (_, i) => vhost(i));
  const rc = (vhs: object[]): object => ({ name: 'http.8080', virtual_hosts: vhs, validate_clusters: { value: false } });
  const first = rc(hosts);
  const a = buildSnapshot({ [TypeUrl.RouteConfiguration]: new Map([['http.8080', first]]) }, 1);
  const e = a.get(TypeUrl.RouteConfiguration, 'http.8080')!;
  assert.deepEqual(decodeResource(TypeUrl.RouteConfiguration, e.value), decodeResource(TypeUrl.RouteConfiguration, encodeResource(TypeUrl.RouteConfiguration, first)), 'same message as the whole-object encoding');
  // A new configuration object with the same host objects: the entry is reused, nothing encoded.
  const b = buildSnapshot({ [TypeUrl.RouteConfiguration]: new Map([['http.8080', rc([...hosts])]]) }, 2, a);
  assert.equal(b.get(TypeUrl.RouteConfiguration, 'http.8080'), e, 'unchanged hosts: same entry');
  // One host replaced: new bytes and version, and they decode to the changed configuration.
  const changed = [...hosts];
  changed[7] = vhost(7, 'b');
  const c = buildSnapshot({ [TypeUrl.RouteConfiguration]: new Map([['http.8080', rc(changed)]]) }, 3, b);
  const ce = c.get(TypeUrl.RouteConfiguration, 'http.8080')!;
  assert.notEqual(ce.version, e.version, 'a changed host changes the version');
  const decoded = decodeResource(TypeUrl.RouteConfiguration, ce.value) as { virtual_hosts: { name: string; routes: { request_headers_to_add: { header: { value: string } }[] }[] }[] };
  assert.equal(decoded.virtual_hosts.length, 100, 'every host is there, in order');
  assert.equal(decoded.virtual_hosts[7].name, 'h7');
  assert.equal(decoded.virtual_hosts[7].routes[0].request_headers_to_add[0].header.value, 'b', 'the changed host carries its change');
  assert.throws(() => buildSnapshot({ [TypeUrl.RouteConfiguration]: new Map([['http.8080', rc([...hosts.slice(0, 99), { name: 'bad', domains: 'not-a-list' }])]]) }, 4, c),
    (err: unknown) => isSluiceError(err, 'SLUICE_E_XDS_ENCODE') && /RouteConfiguration "http.8080" \(virtual host "bad"\)/.test((err as Error).message));
});
