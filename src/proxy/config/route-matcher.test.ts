/** Route matching tables: domains, path matchers, headers, query parameters (pure). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routeRequest } from './route-matcher.ts';
import { translateRouteConfiguration } from './route-config.ts';

const D = { upstreamIdleTimeoutMs: 30_000, connectTimeoutMs: 5_000, routeTimeoutMs: 15_000, streamIdleTimeoutMs: 300_000 };
const direct = (name: string) => ({ name, direct_response: { status: 200 } });

const table = translateRouteConfiguration({
  name: 'rc',
  virtual_hosts: [
    { name: 'exact', domains: ['api.example.com', 'api.example.com:8080'], routes: [
      { ...direct('exact-path'), match: { path: '/health' } },
      { ...direct('ci-prefix'), match: { prefix: '/CI/', case_sensitive: { value: false } } },
      { ...direct('regex'), match: { safe_regex: { regex: '/users/[0-9]+' } } },
      { ...direct('hdr-exact'), match: { prefix: '/h', headers: [{ name: 'x-env', string_match: { exact: 'canary' } }] } },
      { ...direct('hdr-present'), match: { prefix: '/h', headers: [{ name: 'x-debug', present_match: true }] } },
      { ...direct('hdr-invert'), match: { prefix: '/h', headers: [{ name: 'x-env', string_match: { prefix: 'prod' }, invert_match: true }] } },
      { ...direct('hdr-regex'), match: { prefix: '/h', headers: [{ name: 'x-ver', safe_regex_match: { regex: 'v[0-9]+' } }] } },
      { ...direct('query'), match: { prefix: '/q', query_parameters: [{ name: 'mode', string_match: { exact: 'fast' } }] } },
      { ...direct('query-present'), match: { prefix: '/q', query_parameters: [{ name: 'debug' }] } },
      { ...direct('fallback'), match: { prefix: '/' } },
    ] },
    { name: 'suffix-long', domains: ['*.svc.example.com'], routes: [{ ...direct('svc'), match: { prefix: '/' } }] },
    { name: 'suffix-short', domains: ['*.example.com'], routes: [{ ...direct('any-sub'), match: { prefix: '/' } }] },
    { name: 'prefix', domains: ['internal.*'], routes: [{ ...direct('internal'), match: { prefix: '/' } }] },
    { name: 'star', domains: ['*'], routes: [{ ...direct('star'), match: { prefix: '/only' } }] },
  ],
}, D);

const cases: [string, string, Record<string, string>, string | undefined][] = [
  ['api.example.com', '/health', {}, 'exact-path'],
  ['api.example.com', '/health?x=1', {}, 'exact-path'],
  ['API.Example.com', '/other', {}, 'fallback'],
  ['api.example.com', '/healthz', {}, 'hdr-invert'],
  ['api.example.com:8080', '/health', {}, 'exact-path'],
  ['api.example.com:9999', '/health', {}, 'exact-path'],
  ['api.example.com', '/ci/Thing', {}, 'ci-prefix'],
  ['api.example.com', '/users/42', {}, 'regex'],
  ['api.example.com', '/users/42?x', {}, 'regex'],
  ['api.example.com', '/users/abc', {}, 'fallback'],
  ['api.example.com', '/h', { 'x-env': 'canary' }, 'hdr-exact'],
  ['api.example.com', '/h', { 'x-debug': '' }, 'hdr-present'],
  ['api.example.com', '/h', { 'x-env': 'staging' }, 'hdr-invert'],
  ['api.example.com', '/h', { 'x-env': 'prod-1', 'x-ver': 'v2' }, 'hdr-regex'],
  ['api.example.com', '/h', { 'x-env': 'prod-1', 'x-ver': 'v2x' }, 'fallback'],
  ['api.example.com', '/q?mode=fast', {}, 'query'],
  ['api.example.com', '/q?mode=slow&debug=1', {}, 'query-present'],
  ['api.example.com', '/q?mode=slow', {}, 'fallback'],
  ['a.svc.example.com', '/', {}, 'svc'],
  ['b.example.com', '/', {}, 'any-sub'],
  ['example.com', '/', {}, undefined],
  ['internal.corp', '/', {}, 'internal'],
  ['other.org', '/only/x', {}, 'star'],
  ['other.org', '/nope', {}, undefined],
  ['', '/only', {}, 'star'],
];

for (const [host, path, headers, want] of cases) {
  test(`${host || '(no host)'} ${path} ${JSON.stringify(headers)} → ${want ?? 'no route'}`, () => {
    assert.equal(routeRequest(table, host || undefined, path, headers).route?.name, want);
  });
}

test('a domain may appear in only one virtual host', () => {
  assert.throws(() => translateRouteConfiguration({ name: 'dup', virtual_hosts: [
    { name: 'a', domains: ['x.com'], routes: [] }, { name: 'b', domains: ['X.com'], routes: [] },
  ] }, D), /RouteConfiguration "dup": virtual_hosts\[1\]\.domains\[0\]: domain "X.com" appears in more than one virtual host/);
});
