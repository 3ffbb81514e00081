/**
 * The gateway proxy's configuration: an HTTP listener and an HTTPS listener on the proxy's ports,
 * each with one RouteConfiguration (`http.PORT`, `https.PORT`). Virtual hosts come from public
 * (ExternalIP) Ingress rules and from VirtualServices bound to Gateways; Gateway servers choose
 * the listener by protocol (HTTP/HTTP2/GRPC → http, HTTPS → https; the server's port number is
 * the Kubernetes-side port and does not change sluice's listener ports). HTTPS filter chains are
 * chosen by SNI; certificates come over SDS from `ns/credentialName`.
 */
import type { Gateway, Server, ServerTLSSettings } from '../../api/types/istio.ts';
import type { KubeObject } from '../../api/meta.ts';
import type { Recording, TranslateContext } from './context.ts';
import type { KIngress } from '../../api/types/ingress.ts';
import { addIngressVirtualHosts, ingressTls } from './ingress.ts';
import { isPublicRule } from './mesh-state.ts';
import { buildListener, gatewayRouteName, type TlsChain } from './listeners.ts';
import { RouteTableBuilder } from './route-table.ts';
import { resolveCredential } from './secrets.ts';
import { addGatewayVirtualServices, parseServerHosts } from './virtual-service.ts';

const HTTP_PROTOCOLS = new Set(['HTTP', 'HTTP2', 'GRPC']);
const TLS_VERSION: Record<string, string> = { TLS_AUTO: 'TLS_AUTO', TLSV1_0: 'TLSv1_0', TLSV1_1: 'TLSv1_1', TLSV1_2: 'TLSv1_2', TLSV1_3: 'TLSv1_3' };

export interface GatewayOutput { listeners: object[]; routes: object[] }

/**
 * What the incremental gateway translation (gateway-memo.ts) needs to know of a full one, per
 * input: which virtual hosts (by index in the HTTP table), domains, clusters and problems came
 * from the Gateways' VirtualServices and from each public Ingress.
 */
export interface GatewayCollector {
  virtualServices(hosts: { start: number; end: number }, recording: Recording): void;
  ingress(ing: KIngress, hosts: { start: number; end: number }, domains: { wanted: string[]; claimed: string[] }, recording: Recording, tls: boolean): void;
  done(http: RouteTableBuilder, haveTls: boolean): void;
}

/** Collects HTTPS filter chains, giving each SNI name to the first chain that claims it. */
class ChainSet {
  readonly chains: TlsChain[] = [];
  private readonly names = new Map<string, string>();
  private catchAll?: string;
  constructor(private readonly ctx: TranslateContext) {}
  add(owner: KubeObject, field: string, hosts: string[], chain: Omit<TlsChain, 'serverNames'>): void {
    const who = `${owner.kind} ${owner.metadata.namespace}/${owner.metadata.name} (${field})`;
    if (hosts.includes('*')) {
      if (this.catchAll) { this.ctx.problems.add(owner, field, `a TLS server for every host (*) already exists: ${this.catchAll}; this one is not applied`); return; }
      this.catchAll = who;
      this.chains.push({ ...chain, serverNames: [] });
      return;
    }
    const mine: string[] = [];
    for (const h of [...new Set(hosts)].sort()) {
      const holder = this.names.get(h);
      if (holder === undefined) { this.names.set(h, who); mine.push(h); } else this.ctx.problems.add(owner, field, `TLS for host ${h} is already served by ${holder}; this one is not applied`);
    }
    if (mine.length) this.chains.push({ ...chain, serverNames: mine });
  }
  /** Chains with SNI names first, the catch-all last (Envoy picks the most specific anyway). */
  sorted(): TlsChain[] {
    return [...this.chains.filter((c) => c.serverNames.length), ...this.chains.filter((c) => !c.serverNames.length)];
  }
}

function serverTls(ctx: TranslateContext, gw: Gateway, tls: ServerTLSSettings | undefined, field: string): Omit<TlsChain, 'serverNames'> | undefined {
  const p = ctx.problems;
  if (!tls) { p.add(gw, field, 'an HTTPS server needs tls (mode SIMPLE or MUTUAL with credentialName)', 'error'); return undefined; }
  const mode = tls.mode ?? 'SIMPLE';
  if (mode !== 'SIMPLE' && mode !== 'MUTUAL') { p.unsupported(gw, `${field}.mode`, `tls mode ${mode}`); return undefined; }
  for (const f of ['serverCertificate', 'privateKey', 'caCertificates', 'caCrl'] as const) if (tls[f]) p.unsupported(gw, `${field}.${f}`, `${f} (file paths; use credentialName)`);
  for (const f of ['verifyCertificateSpki', 'verifyCertificateHash', 'subjectAltNames'] as const) if (tls[f]?.length) p.unsupported(gw, `${field}.${f}`);
  let cred = tls.credentialName;
  if (!cred && tls.credentialNames?.length) {
    cred = tls.credentialNames[0];
    if (tls.credentialNames.length > 1) p.unsupported(gw, `${field}.credentialNames`, 'more than one credentialName per server');
  }
  if (!cred) { p.add(gw, `${field}.credentialName`, 'an HTTPS server needs credentialName (a kubernetes.io/tls Secret in the Gateway\'s namespace)', 'error'); return undefined; }
  const refs = resolveCredential(ctx, gw, `${field}.credentialName`, cred, { cert: true, ca: mode === 'MUTUAL' });
  if (!refs.certSecret || (mode === 'MUTUAL' && !refs.caSecret)) return undefined;
  const params: Record<string, unknown> = {};
  if (tls.minProtocolVersion) params.tls_minimum_protocol_version = TLS_VERSION[tls.minProtocolVersion];
  if (tls.maxProtocolVersion) params.tls_maximum_protocol_version = TLS_VERSION[tls.maxProtocolVersion];
  if (tls.cipherSuites?.length) params.cipher_suites = [...tls.cipherSuites];
  return { certSecrets: [refs.certSecret], ...(refs.caSecret ? { caSecret: refs.caSecret } : {}), ...(Object.keys(params).length ? { tlsParams: params } : {}) };
}

function serverProtocol(s: Server): 'http' | 'https' | undefined {
  const proto = (s.port?.protocol ?? '').toUpperCase();
  if (HTTP_PROTOCOLS.has(proto)) return 'http';
  if (proto === 'HTTPS') return 'https';
  return undefined;
}

export function translateGateway(ctx: TranslateContext, collect?: GatewayCollector): GatewayOutput {
  const ports = { http: ctx.proxy.ports?.http ?? ctx.opts.gatewayPorts.http, https: ctx.proxy.ports?.https ?? ctx.opts.gatewayPorts.https };
  const http = new RouteTableBuilder(gatewayRouteName('http', ports.http), ctx.problems);
  const https = new RouteTableBuilder(gatewayRouteName('https', ports.https), ctx.problems);
  const chains = new ChainSet(ctx);

  // Gateways and the VirtualServices bound to them.
  const servers = () => { for (const gw of ctx.state.gateways.values()) {
    const gwKey = `${gw.metadata.namespace}/${gw.metadata.name}`;
    (gw.spec?.servers ?? []).forEach((s, i) => {
      const field = `spec.servers[${i}]`;
      const proto = serverProtocol(s);
      if (!proto) { ctx.problems.unsupported(gw, `${field}.port.protocol`, `server protocol ${s.port?.protocol} (sluice's gateway serves HTTP and HTTPS)`); return; }
      if (s.bind) ctx.problems.unsupported(gw, `${field}.bind`);
      if (s.defaultEndpoint) ctx.problems.unsupported(gw, `${field}.defaultEndpoint`);
      if (!s.hosts?.length) { ctx.problems.add(gw, `${field}.hosts`, 'a server needs at least one host', 'error'); return; }
      const hosts = parseServerHosts(s.hosts, gw.metadata.namespace ?? '');
      if (proto === 'http') {
        const redirect = s.tls?.httpsRedirect === true;
        if (s.tls && !redirect) ctx.problems.add(gw, `${field}.tls`, 'tls on an HTTP server only takes httpsRedirect; use protocol HTTPS for TLS');
        addGatewayVirtualServices(ctx, gwKey, hosts, http, redirect ? { require_tls: 'ALL' } : {});
        return;
      }
      const tls = serverTls(ctx, gw, s.tls, `${field}.tls`);
      if (!tls) return;
      chains.add(gw, `${field}.hosts`, hosts.map((h) => h.host), tls);
      addGatewayVirtualServices(ctx, gwKey, hosts, https);
    });
  } };
  if (collect) {
    const { recording } = ctx.record(servers);
    collect.virtualServices({ start: 0, end: http.size }, recording);
  } else servers();

  // Public Knative routes: on HTTP (redirected when the Ingress asks and has TLS) and HTTPS.
  for (const ing of ctx.state.publicIngresses) {
    const tlsEntries = ingressTls(ing);
    const redirect = ing.spec?.httpOption === 'Redirected' && tlsEntries.length > 0;
    const addHttp = () => addIngressVirtualHosts(ctx, ing, http, isPublicRule, redirect);
    if (collect) {
      const start = http.size;
      const domains = (http.track = { wanted: [], claimed: [] });
      const { recording } = ctx.record(addHttp);
      http.track = undefined;
      collect.ingress(ing, { start, end: http.size }, domains, recording, tlsEntries.length > 0);
    } else addHttp();
    for (const t of tlsEntries) {
      // The Route reconciler (not a user) writes the Ingress and may name a certificate Secret of
      // another namespace, as Knative does; the credential is therefore given fully qualified.
      if (!ing.spec?.tls?.[t.index]?.secretName) { ctx.problems.add(ing, `spec.tls[${t.index}].secretName`, 'a TLS entry needs secretName (a kubernetes.io/tls Secret)', 'error'); continue; }
      if (t.hosts.length === 0) { ctx.problems.add(ing, `spec.tls[${t.index}].hosts`, 'a TLS entry needs at least one host', 'error'); continue; }
      const refs = resolveCredential(ctx, ing, `spec.tls[${t.index}].secretName`, t.secret, { cert: true, ca: false }, true);
      if (refs.certSecret) chains.add(ing, `spec.tls[${t.index}].hosts`, t.hosts, { certSecrets: [refs.certSecret] });
    }
  }
  const haveTls = chains.chains.length > 0;
  collect?.done(http, haveTls);
  if (haveTls) {
    for (const ing of ctx.state.publicIngresses) {
      addIngressVirtualHosts(ctx, ing, https, isPublicRule);
      ctx.stats.ingressesVisited--; // the same ingress, visited once more for the second table
    }
  }

  const addr = ctx.opts.gatewayAddress;
  const listeners = [buildListener({ name: `gateway|http|${ports.http}`, address: addr, port: ports.http, chains: [{ hcm: { statPrefix: 'gateway_http', routeConfigName: http.name, useRemoteAddress: true } }] })];
  const routes = [http.build()];
  if (haveTls) {
    listeners.push(buildListener({
      name: `gateway|https|${ports.https}`, address: addr, port: ports.https,
      chains: chains.sorted().map((tls) => ({ tls, hcm: { statPrefix: 'gateway_https', routeConfigName: https.name, useRemoteAddress: true } })),
    }));
    routes.push(https.build());
  }
  return { listeners, routes };
}
