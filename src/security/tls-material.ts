/**
 * kubernetes.io/tls Secrets → checked TLS material and SNI-selected node SecureContexts, for the
 * gateway's multi-tenant HTTPS port (Istio Gateway `tls.mode: SIMPLE` + `credentialName`).
 *
 * `parseTlsSecret` checks what Envoy would only find at handshake time and says it in terms of
 * the Secret: missing keys, base64/PEM that does not parse, a key that does not belong to the
 * certificate, a certificate outside its validity (with both dates). `SniCertificates` keeps one
 * SecureContext per host name (exact and `*.wildcard`) and swaps them on `update` without a
 * restart; a Secret that turns bad keeps its previous certificate serving and is reported.
 */
import tls from 'node:tls';
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { Secret } from '../api/types/core.ts';
import type { SluiceError } from '../lib/errors.ts';
import { pemCertificates } from './ca.ts';
import { SecurityErrors, securityError } from './security-errors.ts';

export interface TlsMaterial {
  /** `namespace/name` of the Secret. */
  ref: string;
  certPem: string;
  keyPem: string;
  caPem?: string;
  /** DNS names of the leaf (subjectAltName, else its CN), lower-case. */
  dnsNames: string[];
  notBefore: number;
  notAfter: number;
}

const refOf = (s: Secret) => `${s.metadata.namespace ?? ''}/${s.metadata.name ?? ''}`;

/** The decoded value of the first key present (`data` base64, `stringData` plain), with the key used. */
function readKey(s: Secret, keys: string[]): { key: string; text: string } | undefined {
  for (const key of keys) {
    const d = s.data?.[key];
    if (typeof d === 'string' && d !== '') {
      if (!/^[A-Za-z0-9+/=\s]+$/.test(d)) throw securityError(SecurityErrors.TlsMalformedPem, `Secret ${refOf(s)}: data[${key}] is not base64`);
      return { key, text: Buffer.from(d, 'base64').toString('utf8') };
    }
    const sd = s.stringData?.[key];
    if (typeof sd === 'string' && sd !== '') return { key, text: sd };
  }
  return undefined;
}

function parseCerts(ref: string, key: string, text: string): X509Certificate[] {
  const blocks = pemCertificates(text);
  if (blocks.length === 0) throw securityError(SecurityErrors.TlsMalformedPem, `Secret ${ref}: ${key} holds no PEM "BEGIN CERTIFICATE" block`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw securityError(SecurityErrors.TlsMalformedPem, `Secret ${ref}: certificate #${i + 1} in ${key} does not parse: ${(e as Error).message}`, { cause: e });
    }
  });
}

/** DNS names of a certificate: its DNS SANs, else its subject CN. */
export function dnsNamesOf(cert: X509Certificate): string[] {
  const sans = (cert.subjectAltName ?? '').split(/,\s*/).filter((e) => e.startsWith('DNS:')).map((e) => e.slice(4).toLowerCase());
  if (sans.length > 0) return sans;
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
  return cn ? [cn.toLowerCase()] : [];
}

/**
 * Checks a TLS Secret at time `now` (epoch ms). Throws SluiceError with SLUICE_E_TLS_MISSING_KEY,
 * _MALFORMED_PEM, _KEY_MISMATCH, _EXPIRED or _NOT_YET_VALID, the message naming `ns/name` and the key.
 */
export function parseTlsSecret(secret: Secret, now: number): TlsMaterial {
  const ref = refOf(secret);
  // kubernetes.io/tls keys first; Istio also reads generic Secrets with cert/key/cacert.
  const crt = readKey(secret, ['tls.crt', 'cert']);
  const key = readKey(secret, ['tls.key', 'key']);
  if (!crt || !key) {
    const missing = [!crt ? 'tls.crt' : undefined, !key ? 'tls.key' : undefined].filter(Boolean).join(' and ');
    throw securityError(SecurityErrors.TlsMissingKey, `Secret ${ref} has no ${missing}; a TLS Secret (type kubernetes.io/tls) needs tls.crt (PEM certificate chain) and tls.key (PEM private key)`);
  }
  const chain = parseCerts(ref, crt.key, crt.text);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.text)) throw securityError(SecurityErrors.TlsMalformedPem, `Secret ${ref}: ${key.key} holds no PEM "BEGIN ... PRIVATE KEY" block`);
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(key.text);
  } catch (e) {
    throw securityError(SecurityErrors.TlsMalformedPem, `Secret ${ref}: ${key.key} does not parse as a private key: ${(e as Error).message}`, { cause: e });
  }
  const leaf = chain[0];
  if (!leaf.checkPrivateKey(keyObject)) {
    throw securityError(SecurityErrors.TlsKeyMismatch, `Secret ${ref}: the private key in ${key.key} does not belong to the certificate in ${crt.key} (subject ${leaf.subject.replace(/\n/g, ', ')})`);
  }
  const notBefore = Date.parse(leaf.validFrom);
  const notAfter = Date.parse(leaf.validTo);
  const range = `valid from ${new Date(notBefore).toISOString()} to ${new Date(notAfter).toISOString()}`;
  if (now >= notAfter) throw securityError(SecurityErrors.TlsExpired, `Secret ${ref}: the certificate in ${crt.key} expired at ${new Date(notAfter).toISOString()} (${range}; now ${new Date(now).toISOString()})`);
  if (now < notBefore) throw securityError(SecurityErrors.TlsNotYetValid, `Secret ${ref}: the certificate in ${crt.key} is not valid until ${new Date(notBefore).toISOString()} (${range}; now ${new Date(now).toISOString()})`);
  const ca = readKey(secret, ['ca.crt', 'cacert']);
  if (ca) parseCerts(ref, ca.key, ca.text);
  return { ref, certPem: crt.text, keyPem: key.text, caPem: ca?.text, dnsNames: dnsNamesOf(leaf), notBefore, notAfter };
}

export interface SniEntry {
  secret: Secret;
  /** Host names served with this Secret (exact or `*.domain`); default: the certificate's DNS names. */
  hosts?: string[];
}

export interface SniUpdateResult {
  /** Host names served after the update, sorted. */
  hosts: string[];
  /** One per bad entry or conflict; a bad Secret's hosts keep their previous certificate if they had one. */
  errors: { ref: string; error: SluiceError; keptPrevious: boolean }[];
}

const HOST = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** SNI host → SecureContext table with an `SNICallback` for `tls.createServer` / `https.createServer`. */
export class SniCertificates {
  private byHost = new Map<string, tls.SecureContext>();
  private byRef = new Map<string, { hosts: string[]; context: tls.SecureContext }>();

  /** Replaces the table from `entries` at time `now`; see SniUpdateResult for failures. */
  update(entries: readonly (Secret | SniEntry)[], now: number): SniUpdateResult {
    const errors: SniUpdateResult['errors'] = [];
    const nextByRef = new Map<string, { hosts: string[]; context: tls.SecureContext }>();
    const norm = entries.map((e) => ('secret' in e && (e as SniEntry).secret?.metadata ? e as SniEntry : { secret: e as Secret }))
      .sort((a, b) => refOf(a.secret).localeCompare(refOf(b.secret)));
    for (const e of norm) {
      const ref = refOf(e.secret);
      try {
        const m = parseTlsSecret(e.secret, now);
        const hosts = (e.hosts ?? m.dnsNames).map((h) => h.toLowerCase());
        const badHost = hosts.find((h) => !HOST.test(h));
        if (badHost !== undefined) throw securityError(SecurityErrors.TlsSniConflict, `Secret ${ref}: host ${JSON.stringify(badHost)} is not a DNS name or *.wildcard`);
        if (hosts.length === 0) throw securityError(SecurityErrors.TlsSniConflict, `Secret ${ref}: the certificate names no DNS host and no hosts were given`);
        nextByRef.set(ref, { hosts, context: tls.createSecureContext({ cert: m.certPem, key: m.keyPem }) });
      } catch (err) {
        const prev = this.byRef.get(ref);
        if (prev) nextByRef.set(ref, prev);
        errors.push({ ref, error: err as SluiceError, keptPrevious: prev !== undefined });
      }
    }
    const byHost = new Map<string, tls.SecureContext>();
    const owner = new Map<string, string>();
    for (const [ref, { hosts, context }] of nextByRef) {
      for (const h of hosts) {
        const taken = owner.get(h);
        if (taken && taken !== ref) {
          errors.push({ ref, error: securityError(SecurityErrors.TlsSniConflict, `Secret ${ref}: host ${h} is already served by Secret ${taken}; the first Secret by namespace/name keeps it`), keptPrevious: false });
          continue;
        }
        owner.set(h, ref);
        byHost.set(h, context);
      }
    }
    this.byRef = nextByRef;
    this.byHost = byHost;
    return { hosts: [...byHost.keys()].sort(), errors };
  }

  /** The context for an SNI server name: exact host first, then the `*.parent` wildcard (one label, as TLS matches). */
  contextFor(servername: string | undefined): tls.SecureContext | undefined {
    if (!servername) return undefined;
    const h = servername.toLowerCase().replace(/\.$/, '');
    const exact = this.byHost.get(h);
    if (exact) return exact;
    const dot = h.indexOf('.');
    return dot > 0 ? this.byHost.get(`*${h.slice(dot)}`) : undefined;
  }

  /** For `tls.createServer({ SNICallback })`: an unknown name aborts the handshake unless a fallback context is given. */
  sniCallback(fallback?: tls.SecureContext): (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => void {
    return (servername, cb) => {
      const ctx = this.contextFor(servername) ?? fallback;
      if (ctx) cb(null, ctx);
      else cb(new Error(`no certificate for server name ${JSON.stringify(servername)}`));
    };
  }
}

/** One-shot form: the contexts per host plus an SNICallback (see SniCertificates for updates). */
export function sniContexts(entries: readonly (Secret | SniEntry)[], now: number): SniUpdateResult & { table: SniCertificates; SNICallback: ReturnType<SniCertificates['sniCallback']> } {
  const table = new SniCertificates();
  const res = table.update(entries, now);
  return { ...res, table, SNICallback: table.sniCallback() };
}
