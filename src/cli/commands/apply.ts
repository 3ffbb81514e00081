/** `sluice apply -f FILE|DIR|-`: client-side apply, as kubectl does it (created / configured / unchanged). */
import type { Command } from 'commander';
import { io } from '../io.ts';
import type { KubeObject } from '../../api/meta.ts';
import { ApiClient, ApiError, addConnectionOptions, collectionPath, objectPath, connect, type ConnectionOptions } from '../api-client.ts';
import { readManifests, type Manifest } from '../manifests.ts';
import { resourceLabel } from '../output.ts';
import { lastApplied, threeWayMergePatch, withLastApplied } from '../three-way-merge.ts';

interface ApplyOptions extends ConnectionOptions { filename: string[]; namespace?: string }

export function register(program: Command): void {
  addConnectionOptions(program
    .command('apply')
    .description('create or update resources from manifests (files, directories, or - for stdin)')
    .requiredOption('-f, --filename <path...>', 'manifest file, directory or - (repeatable)')
    .option('-n, --namespace <ns>', 'namespace for manifests that name none (default "default")'))
    .action(async (o: ApplyOptions) => {
      const manifests = await readManifests(o.filename);
      const client = connect(o);
      let failed = 0;
      for (const m of manifests) {
        try {
          const result = await applyOne(client, m, o.namespace);
          io.out(`${resourceLabel(m.kind)}/${m.object.metadata.name} ${result}\n`);
        } catch (e) {
          failed++;
          const reason = e instanceof ApiError ? `Error from server (${e.reason ?? e.httpCode})` : 'error';
          io.err(`${reason}: ${m.where}: ${(e as Error).message}\n`);
        }
      }
      if (failed > 0) io.exitCode = 1;
    });
}

export type ApplyResult = 'created' | 'configured' | 'unchanged';

export async function applyOne(client: ApiClient, m: Manifest, defaultNs?: string): Promise<ApplyResult> {
  const obj = structuredClone(m.object);
  const ns = m.kind.namespaced ? obj.metadata.namespace ?? defaultNs ?? 'default' : undefined;
  if (m.kind.namespaced) {
    if (defaultNs && obj.metadata.namespace && obj.metadata.namespace !== defaultNs) {
      throw new Error(`the namespace from the manifest (${obj.metadata.namespace}) does not match the namespace given with -n (${defaultNs})`);
    }
    obj.metadata.namespace = ns;
  }
  const modified = withLastApplied(obj);
  let current: KubeObject | undefined;
  try {
    current = (await client.request('GET', objectPath(m.kind, ns, obj.metadata.name!))).body;
  } catch (e) {
    if (!(e instanceof ApiError && e.httpCode === 404)) throw e;
  }
  if (!current) {
    await client.request('POST', collectionPath(m.kind, ns), { body: modified });
    return 'created';
  }
  const patch = threeWayMergePatch(lastApplied(current), modified as Record<string, unknown>, current as Record<string, unknown>);
  if (Object.keys(patch).length === 0) return 'unchanged';
  await client.request('PATCH', objectPath(m.kind, ns, obj.metadata.name!), { body: patch, contentType: 'application/merge-patch+json' });
  return 'configured';
}
