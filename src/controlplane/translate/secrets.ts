/**
 * Kubernetes Secrets → Envoy SDS Secrets. A credential `ns/name` becomes the SDS secret `ns/name`
 * (certificate chain + key, from `tls.crt`/`tls.key` or Istio's generic `cert`/`key`) and, for
 * validation, `ns/name-cacert` (from the same Secret's `ca.crt`/`cacert`, else from a Secret
 * `name-cacert`). Only secrets a listener or cluster references are emitted, and a reference is
 * made only when the certificate passes parseTlsSecret at the translation's `now` (or, when the
 * Secret was updated with bad content, its last good version does: see tls-credentials.ts) — so
 * the published set is always consistent and never carries a certificate that would fail.
 */
import type { KubeObject } from '../../api/meta.ts';
import type { Secret } from '../../api/types/core.ts';

import type { TranslateContext } from './context.ts';
import { ADS_SOURCE } from './istio-values.ts';
import { checkCredential } from './tls-credentials.ts';

/** A Secret's value by key, base64 (the form Secret.data has and Envoy's inline_bytes takes). */
function value(s: Secret, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const d = s.data?.[k];
    if (d) return d;
    const sd = s.stringData?.[k];
    if (sd) return Buffer.from(sd, 'utf8').toString('base64');
  }
  return undefined;
}

function looksLikePem(b64: string, what: 'CERTIFICATE' | 'PRIVATE KEY'): boolean {
  const text = Buffer.from(b64, 'base64').toString('utf8');
  return what === 'CERTIFICATE' ? /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(text) : /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+-----END [A-Z ]*PRIVATE KEY-----/.test(text);
}

export function sdsConfig(name: string): object {
  return { name, sds_config: ADS_SOURCE };
}

export interface CredentialRefs { certSecret?: string; caSecret?: string }

/**
 * Resolves `credentialName` (written in `owner`'s `field`) to SDS secret names, registering the
 * Envoy Secrets it needs. `wantCert`/`wantCa` say which parts the caller needs; a missing or
 * malformed part is an error problem on the owner and is left out of the result.
 */
export function resolveCredential(ctx: TranslateContext, owner: KubeObject, field: string, credentialName: string,
  want: { cert: boolean; ca: boolean }, allowCrossNamespace = ctx.opts.allowCrossNamespaceSecrets): CredentialRefs {
  const ownerNs = owner.metadata.namespace ?? '';
  let ns = ownerNs;
  let name = credentialName;
  const slash = credentialName.indexOf('/');
  if (slash >= 0) {
    ns = credentialName.slice(0, slash);
    name = credentialName.slice(slash + 1);
    if (ns !== ownerNs && !allowCrossNamespace) {
      ctx.problems.add(owner, field, `Secret ${ns}/${name} is in another namespace; a ${owner.kind} may use only Secrets of its own namespace (${ownerNs}) unless the operator allows cross-namespace secrets`, 'error');
      return {};
    }
  }
  const out: CredentialRefs = {};
  const secret = ctx.state.secrets.get(`${ns}/${name}`);
  if (want.cert) {
    const sdsName = `${ns}/${name}`;
    const check = checkCredential(ctx.state.secrets, ctx.state.lastGoodSecrets, ns, name, ctx.now);
    const use = check.ok ? check : check.fallback;
    if (!check.ok) {
      const kept = check.fallback ? `; the previous version of the Secret (resourceVersion ${check.fallback.secret.metadata.resourceVersion ?? 'unknown'}) keeps serving until it is fixed` : '; this server is not applied';
      ctx.problems.add(owner, field, `${check.reason}${kept}`, 'error');
    }
    if (use) {
      const b64 = (pem: string) => Buffer.from(pem, 'utf8').toString('base64');
      ctx.secrets.set(sdsName, { name: sdsName, tls_certificate: { certificate_chain: { inline_bytes: b64(use.material.certPem) }, private_key: { inline_bytes: b64(use.material.keyPem) } } });
      out.certSecret = sdsName;
    }
  }
  if (want.ca) {
    const sdsName = `${ns}/${name}-cacert`;
    const caSecret = ctx.state.secrets.get(`${ns}/${name}-cacert`);
    const ca = (secret && value(secret, 'ca.crt', 'cacert')) ?? (caSecret && value(caSecret, 'ca.crt', 'cacert', 'tls.crt'));
    if (!ca) ctx.problems.add(owner, field, `no CA certificate for ${ns}/${name}: add key ca.crt to Secret ${ns}/${name} or create Secret ${ns}/${name}-cacert`, 'error');
    else if (!looksLikePem(ca, 'CERTIFICATE')) ctx.problems.add(owner, field, `the CA certificate for ${ns}/${name} is not PEM`, 'error');
    else {
      ctx.secrets.set(sdsName, { name: sdsName, validation_context: { trusted_ca: { inline_bytes: ca } } });
      out.caSecret = sdsName;
    }
  }
  return out;
}

/** The transport socket name Envoy uses for TLS. */
export const TLS_TRANSPORT = 'envoy.transport_sockets.tls';
