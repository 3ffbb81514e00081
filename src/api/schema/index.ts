/** The structural schema of every kind in the registry, by group and kind. */
import { SluiceError } from '../../lib/errors.ts';
import { KINDS, type KindInfo } from '../registry.ts';
import { coreSchemas } from './core.ts';
import { istioNetworkingSchemas } from './istio-networking.ts';
import { istioSecuritySchemas } from './istio-security.ts';
import { ingressSchemas, knativeSchemas } from './knative.ts';
import { freeze, type Schema } from './types.ts';

export type { Schema, SchemaType } from './types.ts';

const byGroup: Record<string, Record<string, Schema>> = {
  '': coreSchemas,
  'serving.knative.dev': knativeSchemas,
  'networking.internal.knative.dev': ingressSchemas,
  'networking.istio.io': istioNetworkingSchemas,
  'security.istio.io': istioSecuritySchemas,
};
for (const g of Object.values(byGroup)) for (const s of Object.values(g)) freeze(s);

/** The schema of a kind (apiVersion, kind, metadata and its own fields), or undefined for a kind sluice does not serve. */
export function schemaFor(k: Pick<KindInfo, 'group' | 'kind'>): Schema | undefined {
  return byGroup[k.group]?.[k.kind];
}

/** Every registered kind with its schema; throws at load time if the registry names a kind without one. */
export function kindSchemas(): { kind: KindInfo; schema: Schema }[] {
  return KINDS.map((kind) => {
    const schema = schemaFor(kind);
    if (!schema) throw new SluiceError('SLUICE_E_API_NO_SCHEMA', `no schema for ${kind.kind}.${kind.group || 'core'}: add it under src/api/schema/`);
    return { kind, schema };
  });
}
