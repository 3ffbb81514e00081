/**
 * Upstream TLS of a cluster as node `tls.connect` options: the client certificate and key from
 * the cluster's SDS certificate secret, the trust anchor from its validation secret, SNI, and the
 * server identity check Envoy makes — the chain against the CA, then, when the cluster lists
 * `match_typed_subject_alt_names`, one of those SANs (a SPIFFE URI for Istio's ISTIO_MUTUAL, or a
 * DNS name). Without SAN matchers only the chain is checked (Envoy does no hostname check), and
 * without a validation secret the server is not verified at all (insecureSkipVerify).
 * Only HTTP/1.1 is offered by ALPN: the upstream pool speaks HTTP/1.1.
 */
import type { PeerCertificate } from 'node:tls';
import type { ClusterConfig, SanMatch, SecretConfig } from '../config/model.ts';

export interface UpstreamTlsOptions {
  connect: import('node:tls').ConnectionOptions;
  /** Equal keys = equal options (the pool is replaced when the key changes, e.g. on rotation). */
  key: string;
}

/** SAN entries of a peer certificate as node writes them: `URI:spiffe://…, DNS:a.b`. */
export function peerSans(cert: Pick<PeerCertificate, 'subjectaltname'> | undefined): { type: string; value: string }[] {
  const san = cert?.subjectaltname ?? '';
  const out: { type: string; value: string }[] = [];
  for (const m of san.matchAll(/(?:^|,\s*)(URI|DNS|IP Address):("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    let v = m[2].trim();
    if (v.startsWith('"')) { try { v = JSON.parse(v) as string; } catch { continue; } }
    out.push({ type: m[1] === 'IP Address' ? 'IP' : m[1], value: v });
  }
  return out;
}

/** The identity check: undefined when the certificate carries one of `want`, else the error. */
export function checkSans(want: readonly SanMatch[], cert: Pick<PeerCertificate, 'subjectaltname'> | undefined): Error | undefined {
  const have = peerSans(cert);
  if (want.some((w) => have.some((h) => h.type === w.type && h.value === w.exact))) return undefined;
  const got = have.map((h) => `${h.type}:${h.value}`).join(', ') || 'none';
  return Object.assign(new Error(`upstream certificate SANs (${got}) match none of ${want.map((w) => `${w.type}:${w.exact}`).join(', ')}`), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
}

export function upstreamTlsOptions(c: ClusterConfig, secrets: ReadonlyMap<string, SecretConfig>): UpstreamTlsOptions | undefined {
  const t = c.tls;
  if (!t) return undefined;
  const cert = t.certSecret ? secrets.get(t.certSecret) : undefined;
  const ca = t.validationSecret ? secrets.get(t.validationSecret)?.trustedCa : undefined;
  const sans = t.sanMatches ?? [];
  const connect: import('node:tls').ConnectionOptions = {
    ...(cert?.certChain && cert.privateKey ? { cert: cert.certChain, key: cert.privateKey } : {}),
    ...(ca ? { ca } : {}),
    ...(t.sni ? { servername: t.sni } : {}),
    ALPNProtocols: ['http/1.1'],
    rejectUnauthorized: !!t.validationSecret,
    checkServerIdentity: (_host, peer) => (sans.length ? checkSans(sans, peer) : undefined),
  };
  const key = JSON.stringify([cert?.certChain ?? '', cert?.privateKey ?? '', ca ?? '', t.sni ?? '', sans, !!t.validationSecret]);
  return { connect, key };
}
