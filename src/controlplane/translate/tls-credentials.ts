/**
 * Checked TLS credentials for the gateway's HTTPS servers. A kubernetes.io/tls Secret is checked
 * with security/tls-material's parseTlsSecret (PEM that parses, a key that belongs to the
 * certificate, validity at `now`) before any listener refers to it, so the proxy never receives a
 * certificate it would fail on at handshake time.
 *
 * The snapshot also remembers, per Secret, the last version that was well formed
 * (`lastGoodSecrets`): when a Secret is updated with bad content, the translation keeps serving
 * the previous certificate and reports the problem, instead of dropping the tenant's HTTPS. A
 * deleted Secret is forgotten (deleting is deliberate; the server is then left out).
 */
import { X509Certificate } from 'node:crypto';
import type { Secret } from '../../api/types/core.ts';
import { SluiceError } from '../../lib/errors.ts';
import { pemCertificates } from '../../security/ca.ts';
import { parseTlsSecret, type TlsMaterial } from '../../security/tls-material.ts';
import { SecurityErrors } from '../../security/security-errors.ts';

const TIME_CODES: ReadonlySet<string> = new Set([SecurityErrors.TlsExpired, SecurityErrors.TlsNotYetValid]);

/** True when the Secret carries a certificate at all (only those are worth remembering). */
function hasCertificateKey(s: Secret): boolean {
  return ['tls.crt', 'cert'].some((k) => s.data?.[k] !== undefined || s.stringData?.[k] !== undefined);
}

/**
 * Well formed regardless of time: parses, and the key matches. Expired or not-yet-valid
 * certificates are well formed (whether they serve is decided at translation time, with `now`).
 */
export function wellFormedTlsSecret(s: Secret): boolean {
  if (!hasCertificateKey(s)) return false;
  try {
    parseTlsSecret(s, 0);
    return true;
  } catch (e) {
    return e instanceof SluiceError && TIME_CODES.has(e.code);
  }
}

const keyOf = (s: Secret) => `${s.metadata.namespace ?? ''}/${s.metadata.name ?? ''}`;

/** The last well-formed version of every Secret in `secrets` (for buildMeshState). */
export function initialLastGood(secrets: Iterable<Secret>): Map<string, Secret> {
  const out = new Map<string, Secret>();
  for (const s of secrets) if (wellFormedTlsSecret(s)) out.set(keyOf(s), s);
  return out;
}

/**
 * Applies Secret changes to the last-good map (for updateMeshState): a well-formed upsert
 * replaces the entry, a malformed one keeps the previous entry, a delete removes it. Returns
 * `prev` itself when nothing changed.
 */
export function nextLastGood(prev: ReadonlyMap<string, Secret>, changes: readonly { type: 'upsert' | 'delete'; object: Secret }[]): ReadonlyMap<string, Secret> {
  let out: Map<string, Secret> | undefined;
  const edit = () => (out ??= new Map(prev));
  for (const c of changes) {
    const key = keyOf(c.object);
    if (c.type === 'delete') { if ((out ?? prev).has(key)) edit().delete(key); continue; }
    if (wellFormedTlsSecret(c.object)) edit().set(key, c.object);
  }
  return out ?? prev;
}

export type CredentialCheck =
  | { ok: true; material: TlsMaterial; secret: Secret; fallback?: undefined }
  | { ok: false; reason: string; fallback?: { material: TlsMaterial; secret: Secret } };

/**
 * Checks the certificate Secret `ns/name` at `now`. When the current version is missing or bad,
 * `reason` says what is wrong (naming the Secret and the key); a bad current version falls back
 * to the last good one if that one still serves at `now`.
 */
export function checkCredential(secrets: ReadonlyMap<string, Secret>, lastGood: ReadonlyMap<string, Secret>, ns: string, name: string, now: number): CredentialCheck {
  const key = `${ns}/${name}`;
  const secret = secrets.get(key);
  if (!secret) return { ok: false, reason: `Secret ${key} does not exist; create a kubernetes.io/tls Secret ${name} in namespace ${ns} with tls.crt and tls.key` };
  let reason: string;
  try {
    return { ok: true, material: parseTlsSecret(secret, now), secret };
  } catch (e) {
    reason = e instanceof SluiceError ? `${e.message} (${e.code})` : `Secret ${key}: ${(e as Error).message}`;
  }
  const prev = lastGood.get(key);
  if (prev && prev !== secret) {
    try {
      return { ok: false, reason, fallback: { material: parseTlsSecret(prev, now), secret: prev } };
    } catch { /* the previous version no longer serves either (e.g. expired since): nothing to fall back to */ }
  }
  return { ok: false, reason };
}

/** The leaf certificate's validity window of a well-formed TLS Secret (undefined otherwise). */
function validityOf(s: Secret): { notBefore: number; notAfter: number } | undefined {
  if (!wellFormedTlsSecret(s)) return undefined;
  const b64 = s.data?.['tls.crt'] ?? s.data?.cert;
  const text = b64 !== undefined ? Buffer.from(b64, 'base64').toString('utf8') : s.stringData?.['tls.crt'] ?? s.stringData?.cert ?? '';
  const leaf = new X509Certificate(pemCertificates(text)[0]);
  return { notBefore: Date.parse(leaf.validFrom), notAfter: Date.parse(leaf.validTo) };
}

/**
 * The next instant after `now` at which a certificate Secret in `secrets` or `lastGood` starts or
 * stops being valid (epoch ms), or undefined. The translation reads validity at its `now`, so the
 * control plane should re-translate the gateway at this instant: an expiring certificate is then
 * reported and its server left out without waiting for an unrelated change.
 */
export function nextCredentialChange(secrets: ReadonlyMap<string, Secret>, lastGood: ReadonlyMap<string, Secret>, now: number): number | undefined {
  let next: number | undefined;
  for (const s of new Set([...secrets.values(), ...lastGood.values()])) {
    const v = validityOf(s);
    if (!v) continue;
    for (const t of [v.notBefore, v.notAfter]) if (t > now && (next === undefined || t < next)) next = t;
  }
  return next;
}
