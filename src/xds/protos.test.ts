import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl, encodeResource, decodeResource, toAny, fromAny, adsService, durationMs, msDuration } from './protos.ts';

test('a listener with a nested HttpConnectionManager round-trips through protobuf', () => {
  const listener = {
    name: 'gateway-http',
    address: { socket_address: { address: '0.0.0.0', port_value: 8080 } },
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': TypeUrl.HttpConnectionManager,
          stat_prefix: 'gateway',
          rds: { route_config_name: 'gateway-http', config_source: { ads: {}, resource_api_version: 'V3' } },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
        },
      }],
    }],
  };
  const bytes = encodeResource(TypeUrl.Listener, listener);
  const back = decodeResource(TypeUrl.Listener, bytes);
  assert.equal(back.name, 'gateway-http');
  assert.equal(back.address.socket_address.port_value, 8080);
  const hcm = back.filter_chains[0].filters[0].typed_config;
  assert.equal(hcm['@type'], TypeUrl.HttpConnectionManager);
  assert.equal(hcm.rds.route_config_name, 'gateway-http');
});

test('cluster and load assignment via Any', () => {
  const any = toAny(TypeUrl.Cluster, { name: 'c1', type: 'EDS', lb_policy: 'LEAST_REQUEST', connect_timeout: msDuration(1500), eds_cluster_config: { eds_config: { ads: {} } } });
  const c = fromAny(any);
  assert.equal(c.lb_policy, 'LEAST_REQUEST');
  assert.equal(durationMs(c.connect_timeout, 0), 1500);
  const cla = fromAny(toAny(TypeUrl.ClusterLoadAssignment, { cluster_name: 'c1', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9000 } } }, load_balancing_weight: { value: 3 } }] }] }));
  assert.equal(cla.endpoints[0].lb_endpoints[0].load_balancing_weight.value, 3);
});

test('an invalid field value is refused with the type and reason', () => {
  assert.throws(() => encodeResource(TypeUrl.Cluster, { name: 'c', load_assignment: 5 }), /invalid Cluster: .*load_assignment: object expected/);
});

test('the ADS service definition exposes both streams', () => {
  const { service } = adsService();
  assert.ok(service.StreamAggregatedResources);
  assert.ok(service.DeltaAggregatedResources);
});
