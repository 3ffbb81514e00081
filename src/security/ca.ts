/**
 * The mesh certificate authority of the control process. At first start it makes an ECDSA P-256
 * root and keeps it in `STATE_DIR/ca/` (key mode 0600); an operator may supply the root (or an
 * intermediate plus its chain) instead. It issues short-lived workload certificates carrying the
 * SPIFFE identity `spiffe://TRUST_DOMAIN/ns/NAMESPACE/sa/SERVICE_ACCOUNT` as the only (URI) SAN,
 * like Istio's istiod CA, and serving certificates with DNS names for gateways and tests.
 *
 * Certificates are built with @peculiar/x509 over node's WebCrypto; node's own crypto
 * (X509Certificate, KeyObject) reads and checks them.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { createPrivateKey, X509Certificate as NodeX509, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { realClock, type Clock } from '../lib/clock.ts';
import { SecurityErrors, securityError } from './security-errors.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
export const DEFAULT_WORKLOAD_TTL_MS = 24 * 3600_000;
const ROOT_TTL_MS = 10 * 365 * 24 * 3600_000;
const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_EC = { name: 'ECDSA', hash: 'SHA-256' } as const;
const SIGN_RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

export interface CaOptions {
  trustDomain?: string;
  /** PEM file with the signing CA certificate first, optionally followed by its chain up to a root. */
  rootCertFile?: string;
  /** PEM file with the signing CA's private key (EC P-256/P-384 or RSA, PKCS#8 or traditional). */
  rootKeyFile?: string;
  clock?: Clock;
}

export interface WorkloadIdentity { namespace: string; serviceAccount: string }

export interface IssuedCert {
  /** The leaf certificate. */
  certPem: string;
  /** PKCS#8 private key of the leaf. */
  keyPem: string;
  /** Leaf followed by the CA certificates up to the root: what a server or client presents. */
  chainPem: string;
  /** `spiffe://...` for workload certificates; undefined for serving certificates. */
  spiffeId?: string;
  dnsNames?: string[];
  /** Upper-case hex, as node's `getPeerCertificate().serialNumber` writes it. */
  serialNumber: string;
  notBefore: number; // epoch ms
  notAfter: number; // epoch ms
}

export interface Ca {
  readonly trustDomain: string;
  /** The trust anchor: what clients and servers verify peers against. */
  readonly rootPem: string;
  /** Where the root came from: the state dir (made or reloaded) or operator files. */
  readonly source: 'created' | 'loaded' | 'operator';
  issueWorkload(req: WorkloadIdentity & { ttlMs?: number; now?: number }): Promise<IssuedCert>;
  issueServing(req: { dnsNames: string[]; ttlMs?: number; now?: number }): Promise<IssuedCert>;
}

/** `spiffe://TRUST_DOMAIN/ns/NS/sa/SA`. */
export function spiffeIdFor(trustDomain: string, id: WorkloadIdentity): string {
  return `spiffe://${trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

const SEGMENT = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
function checkSegment(what: string, v: string): void {
  if (typeof v !== 'string' || v.length === 0 || v.length > 253 || !SEGMENT.test(v)) {
    throw securityError(SecurityErrors.BadIdentity, `${what} ${JSON.stringify(v)} is not a valid name for a SPIFFE identity: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`);
  }
}

/**
 * The SPIFFE id in a peer certificate's URI SAN: accepts what `tlsSocket.getPeerCertificate()`
 * returns (`subjectaltname: 'URI:spiffe://…, DNS:…'`) or a node `crypto.X509Certificate`.
 */
export function spiffeIdOf(cert: { subjectaltname?: string } | { subjectAltName?: string } | undefined | null): string | undefined {
  if (!cert) return undefined;
  const san = 'subjectaltname' in cert ? cert.subjectaltname : 'subjectAltName' in cert ? cert.subjectAltName : undefined;
  if (!san) return undefined;
  // Node writes entries as `TYPE:value` separated by ", "; values with special characters are
  // JSON-quoted (`URI:"spiffe://a, b"`), so a quoted value is parsed as JSON.
  const re = /(?:^|,\s*)URI:("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (const m of san.matchAll(re)) {
    let v = m[1].trim();
    if (v.startsWith('"')) { try { v = JSON.parse(v) as string; } catch { continue; } }
    if (v.startsWith('spiffe://')) return v;
  }
  return undefined;
}

/** Splits a PEM bundle into its CERTIFICATE blocks (each with its armour lines). */
export function pemCertificates(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => m[0] + '\n');
}

function toPem(der: ArrayBuffer, label: string): string {
  return x509.PemConverter.encode(der, label) + '\n';
}

function writeAtomic(file: string, data: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, file);
  chmodSync(file, mode);
}

function readFileOrFail(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw securityError(SecurityErrors.CaRoot, `cannot read the CA ${what} ${file}: ${(e as Error).message}`, { cause: e });
  }
}

interface SigningKey { key: CryptoKey; algorithm: Algorithm | EcdsaParams }

async function importSigningKey(keyObject: KeyObject, file: string): Promise<SigningKey> {
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  const type = keyObject.asymmetricKeyType;
  if (type === 'ec') {
    const curve = keyObject.asymmetricKeyDetails?.namedCurve;
    const namedCurve = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : undefined;
    if (!namedCurve) throw securityError(SecurityErrors.CaRoot, `CA key ${file} uses curve ${curve}; sluice signs with P-256 or P-384 keys`);
    const key = await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve }, false, ['sign']);
    return { key: key as unknown as CryptoKey, algorithm: { name: 'ECDSA', hash: namedCurve === 'P-384' ? 'SHA-384' : 'SHA-256' } as EcdsaParams };
  }
  if (type === 'rsa') {
    const key = await webcrypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
    return { key: key as unknown as CryptoKey, algorithm: SIGN_RSA };
  }
  throw securityError(SecurityErrors.CaRoot, `CA key ${file} is a ${type} key; sluice signs with EC (P-256/P-384) or RSA keys`);
}

function parseKey(pem: string, file: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (e) {
    throw securityError(SecurityErrors.CaRoot, `CA key ${file} is not a PEM private key: ${(e as Error).message}`, { cause: e });
  }
}

function parseCaCerts(pem: string, file: string): NodeX509[] {
  const blocks = pemCertificates(pem);
  if (blocks.length === 0) throw securityError(SecurityErrors.CaRoot, `CA certificate file ${file} holds no PEM CERTIFICATE block`);
  return blocks.map((b, i) => {
    try {
      return new NodeX509(b);
    } catch (e) {
      throw securityError(SecurityErrors.CaRoot, `certificate #${i + 1} in ${file} does not parse: ${(e as Error).message}`, { cause: e });
    }
  });
}

async function createRoot(trustDomain: string, now: number): Promise<{ certPem: string; keyPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const notBefore = new Date(Math.floor(now / 1000) * 1000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `O=${trustDomain}, CN=sluice mesh root CA`,
    keys,
    notBefore,
    notAfter: new Date(notBefore.getTime() + ROOT_TTL_MS),
    signingAlgorithm: SIGN_EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  return { certPem: cert.toString('pem') + '\n', keyPem: toPem(pkcs8, 'PRIVATE KEY') };
}

/**
 * Loads the CA from operator files or from `stateDir/ca/`, or makes a new root there.
 * Throws SLUICE_E_CA_ROOT for unreadable, half-present or mismatched files and
 * SLUICE_E_CA_ROOT_EXPIRED for a root outside its validity.
 */
export async function loadOrCreateCa(stateDir: string, opts: CaOptions = {}): Promise<Ca> {
  const trustDomain = opts.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(trustDomain)) {
    throw securityError(SecurityErrors.BadIdentity, `trust domain ${JSON.stringify(trustDomain)} is not valid: use lower-case letters, digits, '-' and '.'`);
  }
  const clock = opts.clock ?? realClock;
  let certPem: string;
  let keyPem: string;
  let certFile: string;
  let keyFile: string;
  let source: Ca['source'];
  if (opts.rootCertFile || opts.rootKeyFile) {
    if (!opts.rootCertFile || !opts.rootKeyFile) {
      throw securityError(SecurityErrors.CaRoot, 'an operator-supplied CA needs both the certificate file and the key file (rootCertFile and rootKeyFile)');
    }
    certFile = opts.rootCertFile;
    keyFile = opts.rootKeyFile;
    certPem = readFileOrFail(certFile, 'certificate');
    keyPem = readFileOrFail(keyFile, 'key');
    source = 'operator';
  } else {
    const dir = path.join(stateDir, 'ca');
    certFile = path.join(dir, 'root-cert.pem');
    keyFile = path.join(dir, 'root-key.pem');
    const hasCert = existsSync(certFile);
    const hasKey = existsSync(keyFile);
    if (hasCert !== hasKey) {
      throw securityError(SecurityErrors.CaRoot, `CA state is incomplete: ${hasCert ? keyFile : certFile} is missing while ${hasCert ? certFile : keyFile} exists; restore the missing file, or remove ${dir} to make a new root (every workload certificate is then re-issued)`);
    }
    if (hasCert) {
      certPem = readFileOrFail(certFile, 'certificate');
      keyPem = readFileOrFail(keyFile, 'key');
      source = 'loaded';
    } else {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      ({ certPem, keyPem } = await createRoot(trustDomain, clock.now()));
      writeAtomic(keyFile, keyPem, 0o600);
      writeAtomic(certFile, certPem, 0o644);
      source = 'created';
    }
  }

  const caCerts = parseCaCerts(certPem, certFile);
  const signer = caCerts[0];
  const keyObject = parseKey(keyPem, keyFile);
  if (!signer.checkPrivateKey(keyObject)) {
    throw securityError(SecurityErrors.CaRoot, `CA key ${keyFile} does not belong to the certificate ${certFile} (subject ${signer.subject.replace(/\n/g, ', ')})`);
  }
  if (!signer.ca) throw securityError(SecurityErrors.CaRoot, `certificate ${certFile} is not a CA certificate (basicConstraints CA:TRUE is missing)`);
  const now = clock.now();
  const from = Date.parse(signer.validFrom);
  const to = Date.parse(signer.validTo);
  if (now < from || now >= to) {
    throw securityError(SecurityErrors.CaRootExpired, `CA certificate ${certFile} is valid from ${new Date(from).toISOString()} to ${new Date(to).toISOString()}, not at ${new Date(now).toISOString()}; supply a valid root${source === 'operator' ? '' : ` or remove ${path.dirname(certFile)} to make a new one`}`);
  }
  const signing = await importSigningKey(keyObject, keyFile);
  const issuerCert = new x509.X509Certificate(signer.raw);
  const authorityKeyId = await x509.AuthorityKeyIdentifierExtension.create(issuerCert.publicKey);
  const caChainPem = caCerts.map((c) => c.toString().trimEnd() + '\n').join('');
  const rootPem = caCerts[caCerts.length - 1].toString().trimEnd() + '\n';

  async function issue(subject: string, sans: x509.JsonGeneralName[], sanCritical: boolean, ttlMs: number, nowMs: number): Promise<IssuedCert> {
    if (!Number.isFinite(ttlMs) || ttlMs < 1000) throw securityError(SecurityErrors.BadCertRequest, `certificate TTL must be at least 1s, got ${ttlMs} ms`);
    const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
    const notBefore = Math.floor(nowMs / 1000) * 1000;
    // A leaf never outlives its issuer.
    const notAfter = Math.min(notBefore + Math.floor(ttlMs / 1000) * 1000, to);
    const cert = await x509.X509CertificateGenerator.create({
      subject,
      issuer: issuerCert.subject,
      publicKey: keys.publicKey,
      signingKey: signing.key,
      signingAlgorithm: signing.algorithm,
      notBefore: new Date(notBefore),
      notAfter: new Date(notAfter),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension(sans, sanCritical),
        authorityKeyId,
      ],
    });
    const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
    const leafPem = cert.toString('pem') + '\n';
    return { certPem: leafPem, keyPem: toPem(pkcs8, 'PRIVATE KEY'), chainPem: leafPem + caChainPem, serialNumber: new NodeX509(leafPem).serialNumber, notBefore, notAfter };
  }

  return {
    trustDomain,
    rootPem,
    source,
    async issueWorkload(req) {
      checkSegment('namespace', req.namespace);
      checkSegment('service account', req.serviceAccount);
      const spiffeId = spiffeIdFor(trustDomain, req);
      // Istio's workload certificates have an empty subject and a critical URI SAN (RFC 5280 4.2.1.6).
      const out = await issue('', [{ type: 'url', value: spiffeId }], true, req.ttlMs ?? DEFAULT_WORKLOAD_TTL_MS, req.now ?? clock.now());
      return { ...out, spiffeId };
    },
    async issueServing(req) {
      if (!Array.isArray(req.dnsNames) || req.dnsNames.length === 0) throw securityError(SecurityErrors.BadCertRequest, 'a serving certificate needs at least one DNS name');
      for (const n of req.dnsNames) {
        if (!/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i.test(n)) throw securityError(SecurityErrors.BadCertRequest, `DNS name ${JSON.stringify(n)} is not valid`);
      }
      const out = await issue(`CN=${req.dnsNames[0]}`, req.dnsNames.map((value) => ({ type: 'dns' as const, value })), false, req.ttlMs ?? 90 * 24 * 3600_000, req.now ?? clock.now());
      return { ...out, dnsNames: [...req.dnsNames] };
    },
  };
}
