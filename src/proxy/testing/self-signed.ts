/** Self-signed ECDSA certificates for the proxy's TLS tests (@peculiar/x509 over WebCrypto). */
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export async function selfSigned(dnsNames: string[]): Promise<{ certPem: string; keyPem: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${dnsNames[0]}`,
    keys,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3600_000),
    signingAlgorithm: alg,
    extensions: [new x509.SubjectAlternativeNameExtension(dnsNames.map((d) => ({ type: 'dns' as const, value: d })))],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey)).toString('base64');
  return { certPem: cert.toString('pem') + '\n', keyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n` };
}
