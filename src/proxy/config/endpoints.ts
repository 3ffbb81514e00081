/** ClusterLoadAssignment and Secret (plain objects) → EndpointsConfig / SecretConfig. Pure. */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { FieldCtx, wrapped, type Obj } from './invalid-resource.ts';
import type { EndpointsConfig, LocalityEndpoints, SecretConfig } from './model.ts';
import { structStrings } from './struct-strings.ts';

const UNHEALTHY = new Set(['UNHEALTHY', 'DRAINING', 'TIMEOUT']);

export function translateLoadAssignment(cla: Obj, name = cla.cluster_name ?? ''): EndpointsConfig {
  const ctx: FieldCtx = new FieldCtx('ClusterLoadAssignment', name);
  if (!name) ctx.fail('cluster_name', 'is required');
  const localities: LocalityEndpoints[] = ((cla.endpoints ?? []) as Obj[]).map((le, i) => {
    const f = `endpoints[${i}]`;
    const loc = le.locality ?? {};
    return {
      locality: [loc.region, loc.zone, loc.sub_zone].filter(Boolean).join('/'),
      priority: Number(le.priority ?? 0),
      weight: Number(wrapped(le.load_balancing_weight, 1)),
      endpoints: ((le.lb_endpoints ?? []) as Obj[]).map((e, j) => {
        const ef = `${f}.lb_endpoints[${j}]`;
        const sa = e.endpoint?.address?.socket_address;
        if (!sa || typeof sa.address !== 'string' || !sa.address) ctx.fail(`${ef}.endpoint.address.socket_address.address`, 'is required');
        const port = Number(sa.port_value);
        if (!Number.isInteger(port) || port < 1 || port > 65535) ctx.fail(`${ef}.endpoint.address.socket_address.port_value`, `must be 1–65535, got ${sa.port_value}`);
        const weight = Number(wrapped(e.load_balancing_weight, 1));
        if (weight < 1) ctx.fail(`${ef}.load_balancing_weight`, `must be ≥ 1, got ${weight}`);
        const tsm = e.metadata?.filter_metadata?.['envoy.transport_socket_match'];
        const socketMatch = tsm ? structStrings(tsm) : undefined;
        return { address: sa.address, port, weight, healthy: !UNHEALTHY.has(e.health_status ?? 'UNKNOWN'), ...(socketMatch ? { socketMatch } : {}) };
      }),
    };
  });
  return { clusterName: name, localities };
}

export function translateSecret(s: Obj, name = s.name ?? ''): SecretConfig {
  const ctx: FieldCtx = new FieldCtx('Secret', name);
  if (!name) ctx.fail('name', 'is required');
  const ds = (d: Obj | undefined, field: string): string | undefined => {
    if (!d) return undefined;
    if (typeof d.inline_string === 'string') return d.inline_string;
    if (d.inline_bytes) return Buffer.from(d.inline_bytes, 'base64').toString();
    if (d.filename) ctx.fail(`${field}.filename`, 'file data sources are not supported; inline the PEM');
    return undefined;
  };
  if (s.tls_certificate) {
    const certChain = ds(s.tls_certificate.certificate_chain, 'tls_certificate.certificate_chain');
    const privateKey = ds(s.tls_certificate.private_key, 'tls_certificate.private_key');
    if (!certChain) ctx.fail('tls_certificate.certificate_chain', 'is required');
    if (!privateKey) ctx.fail('tls_certificate.private_key', 'is required');
    if (!certChain.includes('-----BEGIN CERTIFICATE-----')) ctx.fail('tls_certificate.certificate_chain', 'is not PEM');
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(privateKey)) ctx.fail('tls_certificate.private_key', 'is not a PEM private key');
    checkKeyPair(ctx, certChain, privateKey);
    return { name, certChain, privateKey };
  }
  if (s.validation_context) {
    const trustedCa = ds(s.validation_context.trusted_ca, 'validation_context.trusted_ca');
    if (!trustedCa) ctx.fail('validation_context.trusted_ca', 'is required');
    return { name, trustedCa };
  }
  ctx.fail('(type)', 'secret needs tls_certificate or validation_context');
}

/**
 * Refuses (NACKs) a certificate whose PEM does not parse or whose key does not belong to its leaf,
 * as Envoy does: the previously accepted version of the secret keeps serving, instead of the
 * listener failing each handshake with a context that could not be built.
 */
function checkKeyPair(ctx: FieldCtx, certChain: string, privateKey: string): void {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certChain);
  } catch (e) {
    ctx.fail('tls_certificate.certificate_chain', `does not parse as an X.509 certificate: ${(e as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKey);
  } catch (e) {
    ctx.fail('tls_certificate.private_key', `does not parse as a private key: ${(e as Error).message}`);
  }
  if (!leaf.checkPrivateKey(key)) ctx.fail('tls_certificate.private_key', `does not belong to the certificate (subject ${leaf.subject.replace(/\n/g, ', ')})`);
}
