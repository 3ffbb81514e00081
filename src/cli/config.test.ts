import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { isSluiceError } from '../lib/errors.ts';
import { ConfigErrors, defaultConfig, loadConfig } from './config.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-config-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string): string => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};

test('defaults without a file', () => {
  const c = loadConfig();
  assert.equal(c.api.port, 7070);
  assert.equal(c.store.backend, 'sqlite');
  assert.equal(c.domain, 'sluice.localhost');
});

test('sections are read; other owners get their sections as records with line numbers', () => {
  const f = write('ok.yaml', 'api:\n  port: 0\nstore:\n  backend: memory\ndomain: example.test\nautoscaler:\n  window: 60s\n');
  const c = loadConfig(f);
  assert.equal(c.api.port, 0);
  assert.equal(c.store.backend, 'memory');
  assert.equal(c.domain, 'example.test');
  assert.deepEqual(c.autoscaler, { window: '60s' });
  assert.equal(c.lineOf('autoscaler.window'), 7);
});

test('an unknown section is an error naming the key and file:line', () => {
  const f = write('bad.yaml', 'api:\n  port: 1\nautoscalr:\n  window: 1\n');
  assert.throws(() => loadConfig(f), (e: unknown) => isSluiceError(e, ConfigErrors.UnknownKey) && e.message.includes(`${f}:3`) && e.message.includes('"autoscalr"'));
});

test('an unknown key inside api and a bad value are errors with their line', () => {
  const f = write('bad2.yaml', 'api:\n  prot: 1\n');
  assert.throws(() => loadConfig(f), (e: unknown) => isSluiceError(e, ConfigErrors.UnknownKey) && e.message.includes(`${f}:2`) && e.message.includes('api.prot'));
  const g = write('bad3.yaml', 'store:\n  backend: etcd\n');
  assert.throws(() => loadConfig(g), (e: unknown) => isSluiceError(e, ConfigErrors.Invalid) && e.message.includes(`${g}:2`));
});

test('store.synchronous: full by default, normal when asked, anything else names the line', () => {
  assert.equal(defaultConfig().store.synchronous, 'full', 'fsync per commit by default');
  const f = write('sync.yaml', 'store:\n  synchronous: normal\n');
  assert.equal(loadConfig(f).store.synchronous, 'normal', 'normal is taken');
  const g = write('sync-bad.yaml', 'store:\n  synchronous: off\n');
  assert.throws(() => loadConfig(g), (e: unknown) => isSluiceError(e, ConfigErrors.Invalid) && e.message.includes(`${g}:2`) && e.message.includes('store.synchronous'));
});

test('invalid YAML and a missing file are errors naming the file', () => {
  const f = write('syntax.yaml', 'api: [\n');
  assert.throws(() => loadConfig(f), (e: unknown) => isSluiceError(e, ConfigErrors.Syntax) && e.message.startsWith(`${f}:`));
  assert.throws(() => loadConfig(path.join(dir, 'nope.yaml')), (e: unknown) => isSluiceError(e, ConfigErrors.Read));
});

test('store.eventTTL: an hour by default, a duration when given, 0s keeps Events, anything else names the line', () => {
  assert.equal(defaultConfig().store.eventTtlMs, 3_600_000, "kube-apiserver's --event-ttl default");
  assert.equal(loadConfig(write('ttl.yaml', 'store:\n  eventTTL: 10m\n')).store.eventTtlMs, 600_000);
  assert.equal(loadConfig(write('ttl0.yaml', 'store:\n  eventTTL: 0s\n')).store.eventTtlMs, 0, 'kept forever');
  const g = write('ttl-bad.yaml', 'store:\n  eventTTL: soon\n');
  assert.throws(() => loadConfig(g), (e: unknown) => isSluiceError(e, ConfigErrors.Invalid) && e.message.includes(`${g}:2`) && e.message.includes('store.eventTTL') && e.message.includes('"soon"'));
});
