/**
 * Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) for the built-in
 * kinds kubectl's typed commands send that way: `kubectl create namespace` and `kubectl create
 * secret generic|tls|docker-registry`. Decodes the `k8s\0` + runtime.Unknown envelope and the
 * Namespace / Secret messages (field numbers from k8s.io/api/core/v1/generated.proto and
 * apimachinery's meta/v1/generated.proto) into the JSON object shape. Written by hand: the wire
 * format needed is varints and length-delimited fields, and no declared dependency decodes
 * protobuf without generated schemas.
 */
import type { KubeObject } from '../api/meta.ts';
import { ApiServerErrors, StatusError, badRequest, failureStatus } from './status.ts';

export const KUBE_PROTOBUF = 'application/vnd.kubernetes.protobuf';
const MAGIC = [0x6b, 0x38, 0x73, 0x00]; // "k8s\0"

type Field = { no: number; wire: number; varint?: bigint; bytes?: Buffer };

function malformed(what: string): StatusError {
  return badRequest(`malformed protobuf body: ${what}`, ApiServerErrors.MalformedBody);
}

/** Splits one message into its fields (varint, 64-bit, length-delimited, 32-bit wire types). */
function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw malformed('truncated varint');
      const b = buf[i++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw malformed('varint too long');
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, wire, varint: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      if (i + len > buf.length) throw malformed(`field ${no} runs past the end`);
      out.push({ no, wire, bytes: buf.subarray(i, i + len) });
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw malformed(`unsupported wire type ${wire} in field ${no}`);
  }
  return out;
}

const str = (f: Field): string => (f.bytes ?? Buffer.alloc(0)).toString('utf8');

function mapEntry(f: Field): [string, Buffer] {
  let k = '';
  let v: Buffer = Buffer.alloc(0);
  for (const e of fields(f.bytes ?? Buffer.alloc(0))) {
    if (e.no === 1) k = str(e);
    else if (e.no === 2) v = e.bytes ?? Buffer.alloc(0);
  }
  return [k, v];
}

function objectMeta(buf: Buffer): KubeObject['metadata'] {
  const md: KubeObject['metadata'] = {};
  for (const f of fields(buf)) {
    // gogo-protobuf writes empty strings too; an empty string means "not set".
    if (f.wire === 2 && f.bytes!.length === 0) continue;
    switch (f.no) {
      case 1: md.name = str(f); break;
      case 2: md.generateName = str(f); break;
      case 3: md.namespace = str(f); break;
      case 5: md.uid = str(f); break;
      case 6: md.resourceVersion = str(f); break;
      case 11: { const [k, v] = mapEntry(f); (md.labels ??= {})[k] = v.toString('utf8'); break; }
      case 12: { const [k, v] = mapEntry(f); (md.annotations ??= {})[k] = v.toString('utf8'); break; }
      case 13: {
        const ref: Record<string, unknown> = {};
        for (const r of fields(f.bytes ?? Buffer.alloc(0))) {
          if (r.no === 1) ref.kind = str(r);
          else if (r.no === 3) ref.name = str(r);
          else if (r.no === 4) ref.uid = str(r);
          else if (r.no === 5) ref.apiVersion = str(r);
          else if (r.no === 6) ref.controller = r.varint !== 0n;
          else if (r.no === 7) ref.blockOwnerDeletion = r.varint !== 0n;
        }
        (md.ownerReferences ??= []).push(ref as never);
        break;
      }
      case 14: (md.finalizers ??= []).push(str(f)); break;
      default: break; // server-set fields (selfLink, timestamps, managedFields) are ignored on write
    }
  }
  return md;
}

function namespace(buf: Buffer): KubeObject {
  const obj: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: {} };
  for (const f of fields(buf)) {
    if (f.no === 1) obj.metadata = objectMeta(f.bytes!);
    else if (f.no === 2) {
      const finalizers = fields(f.bytes!).filter((s) => s.no === 1).map(str);
      obj.spec = finalizers.length > 0 ? { finalizers } : {};
    }
  }
  return obj;
}

function secret(buf: Buffer): KubeObject {
  const obj: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: {} };
  for (const f of fields(buf)) {
    if (f.no === 1) obj.metadata = objectMeta(f.bytes!);
    else if (f.no === 2) { const [k, v] = mapEntry(f); ((obj.data ??= {}) as Record<string, string>)[k] = v.toString('base64'); }
    else if (f.no === 3 && f.bytes!.length > 0) obj.type = str(f);
    else if (f.no === 4) { const [k, v] = mapEntry(f); ((obj.stringData ??= {}) as Record<string, string>)[k] = v.toString('utf8'); }
    else if (f.no === 5) obj.immutable = f.varint !== 0n;
  }
  return obj;
}

const DECODERS: Record<string, (b: Buffer) => KubeObject> = { 'v1/Namespace': namespace, 'v1/Secret': secret };

/** Decodes a protobuf body; kinds other than Namespace and Secret → 415 naming JSON as the way. */
export function decodeKubeProtobuf(buf: Buffer): KubeObject {
  if (buf.length < 4 || MAGIC.some((b, i) => buf[i] !== b)) throw malformed('missing the "k8s\\0" envelope prefix');
  let apiVersion = '';
  let kind = '';
  let raw: Buffer | undefined;
  for (const f of fields(buf.subarray(4))) {
    if (f.no === 1) {
      for (const t of fields(f.bytes!)) {
        if (t.no === 1) apiVersion = str(t);
        else if (t.no === 2) kind = str(t);
      }
    } else if (f.no === 2) raw = f.bytes;
  }
  const decode = DECODERS[`${apiVersion}/${kind}`];
  if (!decode || !raw) {
    throw new StatusError(ApiServerErrors.UnsupportedMediaType, failureStatus(415,
      `protobuf bodies are accepted for v1 Namespace and Secret only, not ${apiVersion || '?'}/${kind || '?'}: send application/json or application/yaml`));
  }
  return decode(raw);
}
