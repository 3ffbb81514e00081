/**
 * /openapi/v2 in protobuf (gnostic's openapi.v2.Document, OpenAPIv2.proto), the only encoding
 * kubectl and client-go accept for v2: they send
 * `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf` and parse the body as
 * protobuf whatever its Content-Type. kubectl uses v2 for `explain --output=plaintext-openapiv2`
 * and, before 1.27 or when v3 is missing, for validation and the fieldValidation check.
 *
 * Encoded by hand from the swagger JSON of openapi-v2.ts: only the messages that document uses
 * are needed (field numbers below, from gnostic's OpenAPIv2.proto), and protobufjs is not a
 * direct dependency of sluice. Vendor extensions and enum values are `Any{yaml}` as gnostic
 * writes them, which kube-openapi reads back with a YAML parser.
 */
import { stringify } from 'yaml';
import { openapiV2Document } from './openapi-v2.ts';

export const OPENAPI_V2_PROTOBUF_MEDIA_TYPE = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

/** A minimal protobuf writer: varints, length-delimited fields, bools; proto3 defaults omitted. */
class PbWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): void { this.chunks.push(b); this.size += b.length; }

  private varint(n: number): void {
    const out: number[] = [];
    let v = n >>> 0;
    while (v > 0x7f) { out.push((v & 0x7f) | 0x80); v >>>= 7; }
    out.push(v);
    this.push(Uint8Array.from(out));
  }

  bytes(field: number, b: Uint8Array): this {
    this.varint((field << 3) | 2);
    this.varint(b.length);
    this.push(b);
    return this;
  }

  string(field: number, s: unknown): this {
    if (typeof s === 'string' && s !== '') this.bytes(field, Buffer.from(s, 'utf8'));
    return this;
  }

  strings(field: number, list: unknown): this {
    if (Array.isArray(list)) for (const s of list) if (typeof s === 'string') this.bytes(field, Buffer.from(s, 'utf8'));
    return this;
  }

  bool(field: number, b: unknown): this {
    if (b === true) { this.varint(field << 3); this.varint(1); }
    return this;
  }

  /** An embedded message; written even when empty (oneof members need presence). */
  message(field: number, w: PbWriter): this {
    return this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    return Buffer.concat(this.chunks, this.size);
  }
}

type Json = Record<string, any>;

/** gnostic's Any: the value as YAML. */
function anyYaml(value: unknown): PbWriter {
  return new PbWriter().string(2, stringify(value));
}

function namedAny(name: string, value: unknown): PbWriter {
  return new PbWriter().string(1, name).message(2, anyYaml(value));
}

function vendorExtensions(w: PbWriter, field: number, obj: Json): void {
  for (const [k, v] of Object.entries(obj)) if (k.startsWith('x-')) w.message(field, namedAny(k, v));
}

function schema(s: Json): PbWriter {
  const w = new PbWriter()
    .string(1, s.$ref)
    .string(2, s.format)
    .string(4, s.description)
    .strings(19, s.required);
  if (Array.isArray(s.enum)) for (const e of s.enum) w.message(20, anyYaml(e));
  if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    w.message(21, new PbWriter().message(1, schema(s.additionalProperties)));
  }
  if (typeof s.type === 'string') w.message(22, new PbWriter().strings(1, [s.type]));
  if (s.items && typeof s.items === 'object') w.message(23, new PbWriter().message(1, schema(s.items)));
  if (s.properties && typeof s.properties === 'object') {
    const props = new PbWriter();
    for (const [name, sub] of Object.entries(s.properties as Json)) props.message(1, new PbWriter().string(1, name).message(2, schema(sub)));
    w.message(25, props);
  }
  vendorExtensions(w, 31, s);
  return w;
}

function parameter(p: Json): PbWriter {
  let param: PbWriter;
  if (p.in === 'body') {
    param = new PbWriter().message(1, new PbWriter()
      .string(1, p.description).string(2, p.name).string(3, p.in).bool(4, p.required)
      .message(5, schema(p.schema ?? {})));
  } else if (p.in === 'path') {
    param = new PbWriter().message(2, new PbWriter().message(4, new PbWriter()
      .bool(1, p.required).string(2, p.in).string(3, p.description).string(4, p.name).string(5, p.type).bool(19, p.uniqueItems)));
  } else {
    param = new PbWriter().message(2, new PbWriter().message(3, new PbWriter()
      .bool(1, p.required).string(2, p.in).string(3, p.description).string(4, p.name).string(6, p.type).bool(20, p.uniqueItems)));
  }
  return new PbWriter().message(1, param);
}

function operation(op: Json): PbWriter {
  const w = new PbWriter()
    .strings(1, op.tags)
    .string(3, op.description)
    .string(5, op.operationId)
    .strings(6, op.produces)
    .strings(7, op.consumes);
  for (const p of (op.parameters ?? []) as Json[]) w.message(8, parameter(p));
  const responses = new PbWriter();
  for (const [code, r] of Object.entries((op.responses ?? {}) as Json)) {
    const resp = new PbWriter().string(1, r.description);
    if (r.schema) resp.message(2, new PbWriter().message(1, schema(r.schema)));
    responses.message(1, new PbWriter().string(1, code).message(2, new PbWriter().message(1, resp)));
  }
  w.message(9, responses);
  w.strings(10, op.schemes);
  vendorExtensions(w, 13, op);
  return w;
}

const methodField: Record<string, number> = { get: 2, put: 3, post: 4, delete: 5, options: 6, head: 7, patch: 8 };

function pathItem(item: Json): PbWriter {
  const w = new PbWriter();
  for (const [method, field] of Object.entries(methodField)) if (item[method]) w.message(field, operation(item[method]));
  for (const p of (item.parameters ?? []) as Json[]) w.message(9, parameter(p));
  vendorExtensions(w, 10, item);
  return w;
}

/** Encodes a swagger 2.0 JSON document as gnostic's openapi.v2.Document. */
export function encodeSwaggerProto(doc: Json): Uint8Array {
  const w = new PbWriter().string(1, doc.swagger);
  w.message(2, new PbWriter().string(1, doc.info?.title).string(2, doc.info?.version));
  const paths = new PbWriter();
  for (const [name, item] of Object.entries((doc.paths ?? {}) as Json)) paths.message(2, new PbWriter().string(1, name).message(2, pathItem(item)));
  w.message(8, paths);
  const defs = new PbWriter();
  for (const [name, s] of Object.entries((doc.definitions ?? {}) as Json)) defs.message(1, new PbWriter().string(1, name).message(2, schema(s)));
  w.message(9, defs);
  for (const req of (doc.security ?? []) as Json[]) {
    const r = new PbWriter();
    for (const [name, scopes] of Object.entries(req)) r.message(1, new PbWriter().string(1, name).message(2, new PbWriter().strings(1, scopes)));
    w.message(12, r);
  }
  const secDefs = new PbWriter();
  for (const [name, d] of Object.entries((doc.securityDefinitions ?? {}) as Json)) {
    if (d.type !== 'apiKey') continue;
    const apiKey = new PbWriter().string(1, d.type).string(2, d.name).string(3, d.in).string(4, d.description);
    secDefs.message(1, new PbWriter().string(1, name).message(2, new PbWriter().message(2, apiKey)));
  }
  w.message(13, secDefs);
  return w.finish();
}

let cached: Uint8Array | undefined;

/** The /openapi/v2 document as protobuf, built once. Serve it with OPENAPI_V2_PROTOBUF_MEDIA_TYPE. */
export function openapiV2Protobuf(): Uint8Array {
  cached ??= encodeSwaggerProto(openapiV2Document() as Json);
  return cached;
}
