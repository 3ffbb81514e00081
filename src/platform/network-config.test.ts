import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NETWORK_DEFAULTS, parseNetworkConfig } from './network-config.ts';

test('proxy.mesh defaults off (opt in) with 24 h certificates; mesh keys parse; bad values name the key', () => {
  assert.equal(NETWORK_DEFAULTS.mesh, false);
  assert.equal(NETWORK_DEFAULTS.meshCertTtlMs, 24 * 3600_000);
  const c = parseNetworkConfig({ mesh: true, 'mesh-cert-ttl': '6s', 'mesh-ca-cert': '/ca.pem', 'mesh-ca-key': '/ca-key.pem' }, {}, 'f.yaml');
  assert.deepEqual([c.mesh, c.meshCertTtlMs, c.meshCaCert, c.meshCaKey], [true, 6000, '/ca.pem', '/ca-key.pem']);
  assert.equal(parseNetworkConfig({ 'mesh-cert-ttl': '2h' }, {}).meshCertTtlMs, 7_200_000);
  assert.throws(() => parseNetworkConfig({ mesh: 'yes' }, {}, 'f.yaml'), /f\.yaml: proxy\.mesh: want true or false/);
  assert.throws(() => parseNetworkConfig({ 'mesh-cert-ttl': '10ms' }, {}, 'f.yaml'), /proxy\.mesh-cert-ttl: a certificate lifetime under 1s/);
  assert.throws(() => parseNetworkConfig({ 'mesh-ca-cert': '/ca.pem' }, {}, 'f.yaml'), /mesh-ca-cert and proxy\.mesh-ca-key go together/);
});

test('controlplane debounce keys: after/max durations, leading edge on by default and switchable; bad values name the key', () => {
  assert.deepEqual([NETWORK_DEFAULTS.debounceAfterMs, NETWORK_DEFAULTS.debounceMaxMs, NETWORK_DEFAULTS.debounceLeading], [100, 1000, true]);
  const c = parseNetworkConfig({}, { 'debounce-after': '50ms', 'debounce-max': '2s', 'debounce-leading': false }, 'f.yaml');
  assert.deepEqual([c.debounceAfterMs, c.debounceMaxMs, c.debounceLeading], [50, 2000, false]);
  assert.equal(parseNetworkConfig({}, { 'debounce-throttle': true }, 'f.yaml').debounceThrottle, true, 'debounce-throttle switches on');
  assert.throws(() => parseNetworkConfig({}, { 'debounce-throttle': 1 }, 'f.yaml'), /f\.yaml: controlplane\.debounce-throttle: want true or false/);
  assert.throws(() => parseNetworkConfig({}, { 'debounce-leading': 'no' }, 'f.yaml'), /f\.yaml: controlplane\.debounce-leading: want true or false/);
  assert.throws(() => parseNetworkConfig({}, { 'debounce-after': '2s', 'debounce-max': '1s' }, 'f.yaml'), /debounce-max must be ≥ debounce-after/);
});
