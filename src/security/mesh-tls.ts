/**
 * Node TLS glue for the mesh proxy: SDS Secrets → SecureContexts, client options that verify the
 * upstream's SPIFFE identity (as Envoy's `match_typed_subject_alt_names` does for Istio), the
 * peer identity of an inbound TLS socket, and one inbound port that takes both plaintext and TLS
 * (PERMISSIVE) by sniffing the first byte, as Envoy's tls_inspector does.
 */
import net from 'node:net';
import tls from 'node:tls';
import { spiffeIdOf } from './ca.ts';
import { principalOf } from './authorization-rules.ts';
import { SecurityErrors, securityError } from './security-errors.ts';

type Obj = Record<string, any>;

/** Text of an Envoy DataSource (`inline_string`, or `inline_bytes` as base64 or bytes). */
function dataSource(d: Obj | undefined, what: string): string {
  if (typeof d?.inline_string === 'string') return d.inline_string;
  if (typeof d?.inline_bytes === 'string') return Buffer.from(d.inline_bytes, 'base64').toString('utf8');
  if (d?.inline_bytes instanceof Uint8Array) return Buffer.from(d.inline_bytes).toString('utf8');
  throw securityError(SecurityErrors.TlsMalformedPem, `SDS secret: ${what} needs inline_string or inline_bytes`);
}

export interface MeshTlsMaterial { certChainPem: string; keyPem: string; rootPem: string }

/** The PEMs of a certificate SDS secret (`tls_certificate`) and a validation one (`validation_context`, e.g. ROOTCA). */
export function materialFromSds(certSecret: Obj, rootSecret: Obj): MeshTlsMaterial {
  const tc = certSecret?.tls_certificate;
  if (!tc) throw securityError(SecurityErrors.TlsMissingKey, `SDS secret ${JSON.stringify(certSecret?.name)} has no tls_certificate`);
  const vc = rootSecret?.validation_context;
  if (!vc) throw securityError(SecurityErrors.TlsMissingKey, `SDS secret ${JSON.stringify(rootSecret?.name)} has no validation_context`);
  return {
    certChainPem: dataSource(tc.certificate_chain, `${certSecret.name}.tls_certificate.certificate_chain`),
    keyPem: dataSource(tc.private_key, `${certSecret.name}.tls_certificate.private_key`),
    rootPem: dataSource(vc.trusted_ca, `${rootSecret.name}.validation_context.trusted_ca`),
  };
}

/** Server-side context: presents the workload certificate and verifies client certificates against the root. */
export function meshSecureContext(m: MeshTlsMaterial): tls.SecureContext {
  try {
    return tls.createSecureContext({ cert: m.certChainPem, key: m.keyPem, ca: m.rootPem });
  } catch (e) {
    throw securityError(SecurityErrors.TlsMalformedPem, `mesh TLS material does not load: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Options for `tls.connect` from a pod's egress to an upstream pod: presents the caller's
 * certificate, trusts only the mesh root, and accepts the server only when its URI SAN is one of
 * `expectedSpiffeIds` (any mesh identity when the list is empty).
 */
export function meshClientOptions(m: MeshTlsMaterial, expectedSpiffeIds: readonly string[] = []): tls.ConnectionOptions {
  return {
    cert: m.certChainPem,
    key: m.keyPem,
    ca: m.rootPem,
    // Workload certificates carry no DNS name; identity is the SPIFFE URI SAN.
    checkServerIdentity: (_host, cert) => {
      const id = spiffeIdOf(cert);
      if (!id) return new Error('the upstream certificate has no SPIFFE identity');
      if (expectedSpiffeIds.length > 0 && !expectedSpiffeIds.includes(id)) return new Error(`upstream identity ${id} is not one of ${expectedSpiffeIds.join(', ')}`);
      return undefined;
    },
  };
}

export interface PeerInfo {
  tls: boolean;
  /** The client certificate verified against the mesh root. */
  peerVerified: boolean;
  /** SPIFFE id of a verified peer, e.g. `spiffe://cluster.local/ns/a/sa/default`. */
  spiffeId?: string;
  /** The same without `spiffe://`, as AuthorizationPolicy principals are written. */
  principal?: string;
}

/** Identity of an inbound connection (plain sockets have none). */
export function peerOf(socket: net.Socket): PeerInfo {
  if (!(socket instanceof tls.TLSSocket)) return { tls: false, peerVerified: false };
  const verified = socket.authorized === true;
  const spiffeId = verified ? spiffeIdOf(socket.getPeerCertificate()) : undefined;
  return { tls: true, peerVerified: verified, ...(spiffeId ? { spiffeId, principal: principalOf(spiffeId) } : {}) };
}

/** A TLS record of type handshake (0x16) with major version 3 starts every ClientHello. */
export function looksLikeTls(first: Buffer): boolean {
  return first.length >= 1 && first[0] === 0x16 && (first.length < 2 || first[1] === 0x03);
}

export interface MixedPort {
  /** The tls.Server that handles TLS connections; on rotation call `tlsServer.setSecureContext({ cert, key, ca })`. */
  tlsServer: tls.Server;
  /** Pass to `net.createServer(handler)` or call from an existing 'connection' listener. */
  handler: (sock: net.Socket) => void;
}

/**
 * One inbound port for plaintext and mTLS: the first byte decides. TLS connections are handed to
 * a non-listening tls.Server (so `authorized` is set from the client certificate) and then to
 * `onTls`; plaintext sockets go to `onPlain` with the sniffed bytes put back.
 * Note: sockets handed to the tls.Server leave the outer net.Server's connection count, so close
 * the outer server without waiting for its 'close' event, or track sockets yourself.
 */
export function mixedPort(m: MeshTlsMaterial, handlers: { onTls: (s: tls.TLSSocket) => void; onPlain: (s: net.Socket) => void }, opts: { sniffTimeoutMs?: number } = {}): MixedPort {
  // Like Envoy's listener_filters_timeout (15 s): a client that sends nothing is closed.
  const sniffTimeoutMs = opts.sniffTimeoutMs ?? 15_000;
  meshSecureContext(m); // fails early, with a clear error, on material that does not load
  const tlsServer = tls.createServer({ cert: m.certChainPem, key: m.keyPem, ca: m.rootPem, requestCert: true, rejectUnauthorized: false }, handlers.onTls);
  tlsServer.on('tlsClientError', () => undefined /* a failed handshake closes that socket only */);
  const handler = (sock: net.Socket) => {
    sock.on('error', () => undefined);
    sock.setTimeout(sniffTimeoutMs, () => sock.destroy());
    sock.once('data', (first: Buffer) => {
      sock.setTimeout(0);
      sock.pause();
      sock.unshift(first);
      if (looksLikeTls(first)) tlsServer.emit('connection', sock);
      else { handlers.onPlain(sock); sock.resume(); }
    });
  };
  return { tlsServer, handler };
}
