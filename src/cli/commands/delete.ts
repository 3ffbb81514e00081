/** `sluice delete -f FILE|DIR|-` or `sluice delete KIND NAME...`. */
import type { Command } from 'commander';
import { io } from '../io.ts';
import { kindByName, type KindInfo } from '../../api/registry.ts';
import { SluiceError } from '../../lib/errors.ts';
import { ApiError, addConnectionOptions, objectPath, connect, type ConnectionOptions } from '../api-client.ts';
import { readManifests } from '../manifests.ts';
import { resourceLabel } from '../output.ts';

interface DeleteOptions extends ConnectionOptions { filename?: string[]; namespace?: string; ignoreNotFound?: boolean }

export function register(program: Command): void {
  addConnectionOptions(program
    .command('delete')
    .description('delete resources named in manifests (-f) or by kind and name')
    .argument('[kind]', 'resource kind (ksvc, revision, ...)')
    .argument('[names...]', 'object names')
    .option('-f, --filename <path...>', 'manifest file, directory or - (repeatable)')
    .option('-n, --namespace <ns>', 'namespace (default "default")')
    .option('--ignore-not-found', 'treat "not found" as success'))
    .action(async (kindArg: string | undefined, names: string[], o: DeleteOptions) => {
      const targets: { kind: KindInfo; ns?: string; name: string; where?: string }[] = [];
      if (o.filename) {
        if (kindArg) throw new SluiceError('SLUICE_E_CLI_USAGE', 'give either -f or KIND NAME, not both');
        for (const m of await readManifests(o.filename)) {
          targets.push({ kind: m.kind, ns: m.kind.namespaced ? m.object.metadata.namespace ?? o.namespace ?? 'default' : undefined, name: m.object.metadata.name!, where: m.where });
        }
      } else {
        if (!kindArg || names.length === 0) throw new SluiceError('SLUICE_E_CLI_USAGE', 'usage: sluice delete -f FILE, or sluice delete KIND NAME...');
        const kind = kindByName(kindArg);
        if (!kind) throw new SluiceError('SLUICE_E_CLI_UNKNOWN_KIND', `unknown resource type "${kindArg}"`);
        for (const name of names) targets.push({ kind, ns: kind.namespaced ? o.namespace ?? 'default' : undefined, name });
      }
      const client = connect(o);
      let failed = 0;
      for (const t of targets) {
        try {
          await client.request('DELETE', objectPath(t.kind, t.ns, t.name));
          io.out(`${resourceLabel(t.kind)} "${t.name}" deleted\n`);
        } catch (e) {
          if (e instanceof ApiError && e.httpCode === 404 && o.ignoreNotFound) continue;
          failed++;
          const reason = e instanceof ApiError ? `Error from server (${e.reason ?? e.httpCode})` : 'error';
          io.err(`${reason}: ${t.where ? `${t.where}: ` : ''}${(e as Error).message}\n`);
        }
      }
      if (failed > 0) io.exitCode = 1;
    });
}
