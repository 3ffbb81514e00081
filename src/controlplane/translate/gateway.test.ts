import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from '../../api/types/istio.ts';
import * as f from './testing/fixtures.ts';
import { clusters, GATEWAY, hasProblem, listeners, routesOf, run, secrets, vhost } from './testing/inspect.ts';
import { ok } from './testing/inspect.ts';

const vsFor = (host: string, gw = 'tenants/gw', ns = 'tenants') => f.virtualService(ns, host.split('.')[0], { hosts: [host], gateways: [gw], http: [{ route: [{ destination: { host: host.split('.')[0] } }] }] });
function gatewayWith(servers: Server[], extra: object = {}) {
  return run({ gateways: [f.gateway('tenants', 'gw', { selector: { istio: 'ingressgateway' }, servers })], ...extra }, GATEWAY);
}
const https = (hosts: string[], credentialName: string, mode: 'SIMPLE' | 'MUTUAL' = 'SIMPLE'): Server => ({ port: { number: 443, protocol: 'HTTPS', name: 'https' }, hosts, tls: { mode, credentialName } });

test('HTTP server: listener on the gateway http port with RDS http.PORT; ports and address come from the proxy and options', () => {
  const r = run({ gateways: [f.gateway('tenants', 'gw', { servers: [{ port: { number: 80, protocol: 'HTTP' }, hosts: ['*'] }] })], virtualServices: [vsFor('a.example.com')] },
    { id: 'gw', role: 'gateway', ports: { http: 18080 } }, { gatewayAddress: '127.0.0.1' });
  const l = listeners(r);
  assert.deepEqual(l.map((x) => x.name), ['gateway|http|18080']);
  assert.deepEqual(l[0].address, { socket_address: { address: '127.0.0.1', port_value: 18080 } });
  assert.equal(l[0].filter_chains[0].filters[0].typed_config.rds.route_config_name, 'http.18080');
  assert.equal(routesOf(r, 'http.18080', 'a.example.com')[0].route.cluster, 'outbound|80||a.tenants.svc.cluster.local');
});

test('two tenants on one HTTPS port: one filter chain per SNI host, each with its own certificate over SDS', () => {
  const r = gatewayWith([https(['a.example.com'], 'a-cert'), https(['b.example.com'], 'b-cert')], {
    secrets: [f.tlsSecret('tenants', 'a-cert'), f.tlsSecret('tenants', 'b-cert')], virtualServices: [vsFor('a.example.com'), vsFor('b.example.com')],
  });
  const l = listeners(r).find((x) => x.name === 'gateway|https|8443')!;
  const chains = l.filter_chains.map((c: any) => [c.filter_chain_match.server_names, c.transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name]);
  assert.deepEqual(chains, [[['a.example.com'], 'tenants/a-cert'], [['b.example.com'], 'tenants/b-cert']]);
  assert.deepEqual(l.filter_chains[0].transport_socket.typed_config.common_tls_context.alpn_protocols, ['h2', 'http/1.1']);
  assert.deepEqual([...secrets(r).keys()], ['tenants/a-cert', 'tenants/b-cert']);
  ok(vhost(r, 'https.8443', 'a.example.com') && vhost(r, 'https.8443', 'b.example.com'));
  assert.equal(vhost(r, 'http.8080', 'a.example.com'), undefined, 'HTTPS-only hosts are not on HTTP');
});

test('MUTUAL requires client certificates validated against the credential CA', () => {
  const r = gatewayWith([https(['m.example.com'], 'm-cert', 'MUTUAL')], { secrets: [f.tlsSecret('tenants', 'm-cert', { ca: true })], virtualServices: [vsFor('m.example.com')] });
  const tls = listeners(r).find((x) => x.name === 'gateway|https|8443')!.filter_chains[0].transport_socket.typed_config;
  assert.deepEqual(tls.require_client_certificate, { value: true });
  assert.equal(tls.common_tls_context.validation_context_sds_secret_config.name, 'tenants/m-cert-cacert');
});

test('min/max TLS version and cipher suites → tls_params', () => {
  const s = https(['t.example.com'], 't');
  s.tls!.minProtocolVersion = 'TLSV1_2';
  s.tls!.maxProtocolVersion = 'TLSV1_3';
  s.tls!.cipherSuites = ['ECDHE-ECDSA-AES128-GCM-SHA256'];
  const r = gatewayWith([s], { secrets: [f.tlsSecret('tenants', 't')] });
  const p = listeners(r).find((x) => x.name === 'gateway|https|8443')!.filter_chains[0].transport_socket.typed_config.common_tls_context.tls_params;
  assert.deepEqual(p, { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3', cipher_suites: ['ECDHE-ECDSA-AES128-GCM-SHA256'] });
});

test('httpsRedirect on an HTTP server requires TLS for its hosts', () => {
  const r = gatewayWith([{ port: { number: 80, protocol: 'HTTP' }, hosts: ['r.example.com'], tls: { httpsRedirect: true } }], { virtualServices: [vsFor('r.example.com')] });
  assert.equal(vhost(r, 'http.8080', 'r.example.com')!.require_tls, 'ALL');
});

test('a missing Secret, malformed PEM or another namespace\'s Secret: the server is left out and the Gateway says which', () => {
  const r = gatewayWith([https(['a.example.com'], 'gone'), https(['b.example.com'], 'bad'), https(['c.example.com'], 'other/cert'), https(['d.example.com'], 'ok')], {
    secrets: [f.tlsSecret('tenants', 'bad', { malformed: true }), f.tlsSecret('other', 'cert'), f.tlsSecret('tenants', 'ok')],
  });
  ok(hasProblem(r, 'Gateway', 'spec.servers[0].tls.credentialName', /Secret tenants\/gone does not exist/, 'error'));
  ok(hasProblem(r, 'Gateway', 'spec.servers[1].tls.credentialName', /Secret tenants\/bad: tls\.crt holds no PEM .*SLUICE_E_TLS_MALFORMED_PEM/, 'error'));
  ok(hasProblem(r, 'Gateway', 'spec.servers[2].tls.credentialName', /another namespace/, 'error'));
  const chains = listeners(r).find((x) => x.name === 'gateway|https|8443')!.filter_chains;
  assert.deepEqual(chains.map((c: any) => c.filter_chain_match.server_names), [['d.example.com']]);
  assert.deepEqual([...secrets(r).keys()], ['tenants/ok']);
  const allowed = run({ gateways: [f.gateway('tenants', 'gw', { servers: [https(['c.example.com'], 'other/cert')] })], secrets: [f.tlsSecret('other', 'cert')] }, GATEWAY, { allowCrossNamespaceSecrets: true });
  assert.deepEqual([...secrets(allowed).keys()], ['other/cert']);
});

test('the same SNI host on two servers: the first keeps it; a "*" server becomes the catch-all chain', () => {
  const r = gatewayWith([https(['a.example.com'], 'one'), https(['a.example.com', 'b.example.com'], 'two'), https(['*'], 'three')], {
    secrets: [f.tlsSecret('tenants', 'one'), f.tlsSecret('tenants', 'two'), f.tlsSecret('tenants', 'three')],
  });
  const chains = listeners(r).find((x) => x.name === 'gateway|https|8443')!.filter_chains;
  assert.deepEqual(chains.map((c: any) => c.filter_chain_match?.server_names ?? '*'), [['a.example.com'], ['b.example.com'], '*']);
  ok(hasProblem(r, 'Gateway', 'spec.servers[1].hosts', /already served/));
});

test('unsupported server protocols, tls modes and fields are reported; the rest serves', () => {
  const r = gatewayWith([
    { port: { number: 3306, protocol: 'TCP' }, hosts: ['*'] },
    { port: { number: 443, protocol: 'HTTPS' }, hosts: ['p.example.com'], tls: { mode: 'PASSTHROUGH' } },
    { port: { number: 443, protocol: 'HTTPS' }, hosts: ['n.example.com'] },
    { port: { number: 80, protocol: 'HTTP' }, hosts: ['*'], bind: '0.0.0.0', defaultEndpoint: '127.0.0.1:8080' },
  ], { virtualServices: [vsFor('w.example.com')] });
  ok(hasProblem(r, 'Gateway', 'spec.servers[0].port.protocol', /TCP.*not supported/));
  ok(hasProblem(r, 'Gateway', 'spec.servers[1].tls.mode', /PASSTHROUGH.*not supported/));
  ok(hasProblem(r, 'Gateway', 'spec.servers[2].tls', /needs tls/, 'error'));
  ok(hasProblem(r, 'Gateway', 'spec.servers[3].bind', /not supported/));
  ok(hasProblem(r, 'Gateway', 'spec.servers[3].defaultEndpoint', /not supported/));
  ok(vhost(r, 'http.8080', 'w.example.com'));
});

test('the gateway receives only the clusters its routes use', () => {
  const meshVs = f.virtualService('tenants', 'internal', { hosts: ['internal'], http: [{ route: [{ destination: { host: 'internal' } }] }] });
  const r = gatewayWith([{ port: { number: 80, protocol: 'HTTP' }, hosts: ['*'] }], {
    virtualServices: [vsFor('a.example.com'), meshVs],
    ingresses: [f.knativeIngress('default', 'hello', [['hello-00001', 100]]), f.ingress('default', 'private', [{ hosts: ['private.default'], visibility: 'ClusterLocal', http: { paths: [{ splits: [{ serviceNamespace: 'default', serviceName: 'private-00001', servicePort: 80, percent: 100 }] }] } }])],
    endpoints: [f.endpoints('default', 'unused', [{ port: 1234 }])],
  });
  assert.deepEqual([...clusters(r).keys()], ['outbound|80||a.tenants.svc.cluster.local', 'outbound|80||hello-00001.default.svc.cluster.local']);
});
