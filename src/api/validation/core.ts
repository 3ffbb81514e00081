/**
 * Semantic checks for core v1 kinds, after Kubernetes' pkg/apis/core/validation: Secret data
 * keys and base64 values, the keys each Secret type requires, immutability; Endpoints addresses.
 */
import { isIP } from 'node:net';
import type { KubeObject } from '../meta.ts';
import { child, FieldErrors, isPlainObject } from './field-errors.ts';
import { isConfigMapKey } from './names.ts';

const base64Re = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const maxSecretSize = 1024 * 1024;

export function isBase64(v: string): boolean {
  return base64Re.test(v);
}

/** Keys each Secret type must carry in `data` (after stringData is merged). */
export const SecretTypeRequiredKeys: Record<string, string[]> = {
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
  'kubernetes.io/basic-auth': [],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/dockercfg': ['.dockercfg'],
};

function validateSecret(obj: KubeObject, old: KubeObject | undefined, errs: FieldErrors): void {
  const data = isPlainObject(obj.data) ? obj.data : {};
  const stringData = isPlainObject(obj.stringData) ? obj.stringData : {};
  let size = 0;
  for (const [k, v] of Object.entries(data)) {
    for (const m of isConfigMapKey(k)) errs.invalid(child('data', k, true), k, m);
    if (typeof v === 'string') {
      if (!isBase64(v)) errs.invalid(child('data', k, true), '<secret contents redacted>', 'must be base64-encoded');
      size += Math.floor((v.length * 3) / 4);
    }
  }
  for (const [k, v] of Object.entries(stringData)) {
    for (const m of isConfigMapKey(k)) errs.invalid(child('stringData', k, true), k, m);
    if (typeof v === 'string') size += Buffer.byteLength(v);
  }
  if (size > maxSecretSize) errs.tooLong('data', maxSecretSize);
  const type = typeof obj.type === 'string' && obj.type !== '' ? obj.type : 'Opaque';
  for (const key of SecretTypeRequiredKeys[type] ?? []) {
    if (data[key] === undefined && stringData[key] === undefined) errs.required(child('data', key, true));
  }
  if (type === 'kubernetes.io/basic-auth' && data.username === undefined && data.password === undefined &&
      stringData.username === undefined && stringData.password === undefined) {
    errs.required(child('data', 'username', true), 'basic-auth secrets need a username or password');
  }
  if (old) {
    const oldType = typeof old.type === 'string' && old.type !== '' ? old.type : 'Opaque';
    if (oldType !== type) errs.invalid('type', type, 'field is immutable');
    if (old.immutable === true) {
      if (obj.immutable !== true) errs.forbidden('immutable', 'field is immutable when `immutable` is set');
      if (JSON.stringify(old.data ?? {}) !== JSON.stringify(obj.data ?? {}) || Object.keys(stringData).length > 0) {
        errs.forbidden('data', 'field is immutable when `immutable` is set');
      }
    }
  }
}

function validateEndpoints(obj: KubeObject, errs: FieldErrors): void {
  const subsets = Array.isArray(obj.subsets) ? obj.subsets : [];
  subsets.forEach((s, i) => {
    if (!isPlainObject(s)) return;
    for (const field of ['addresses', 'notReadyAddresses']) {
      const list = Array.isArray(s[field]) ? (s[field] as unknown[]) : [];
      list.forEach((a, j) => {
        const ip = isPlainObject(a) ? a.ip : undefined;
        if (typeof ip === 'string' && isIP(ip) === 0) errs.invalid(child(child(child(child('subsets', i), field), j), 'ip'), ip, 'must be a valid IP address');
      });
    }
    const ports = Array.isArray(s.ports) ? s.ports : [];
    ports.forEach((p, j) => {
      const port = isPlainObject(p) ? p.port : undefined;
      if (typeof port === 'number' && (port < 1 || port > 65535)) errs.invalid(child(child(child('subsets', i), 'ports'), j) + '.port', port, 'must be between 1 and 65535, inclusive');
    });
  });
}

export function validateCore(obj: KubeObject, old: KubeObject | undefined, errs: FieldErrors): void {
  switch (obj.kind) {
    case 'Secret': return validateSecret(obj, old, errs);
    case 'Endpoints': return validateEndpoints(obj, errs);
  }
}
