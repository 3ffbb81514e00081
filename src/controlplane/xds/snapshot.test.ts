import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl } from '../../xds/protos.ts';
import { isSluiceError } from '../../lib/errors.ts';
import { buildSnapshot } from './snapshot.ts';
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
