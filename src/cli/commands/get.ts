/** `sluice get KIND [NAME] [-n NS] [-A] [-o yaml|json|wide]`: tables from the server's Table output. */
import type { Command } from 'commander';
import { io } from '../io.ts';
import { InvalidArgumentError } from 'commander';
import type { KubeObject } from '../../api/meta.ts';
import { kindByName } from '../../api/registry.ts';
import { SluiceError } from '../../lib/errors.ts';
import { addConnectionOptions, collectionPath, objectPath, connect, type ConnectionOptions } from '../api-client.ts';
import { formatObjects, formatTable, type Table } from '../output.ts';

interface GetOptions extends ConnectionOptions { namespace?: string; allNamespaces?: boolean; output?: 'yaml' | 'json' | 'wide'; selector?: string }

const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

function parseOutput(v: string): 'yaml' | 'json' | 'wide' {
  if (v === 'yaml' || v === 'json' || v === 'wide') return v;
  throw new InvalidArgumentError(`"${v}" is not an output format: expected yaml, json or wide`);
}

export function register(program: Command): void {
  addConnectionOptions(program
    .command('get')
    .description('list or show resources (e.g. `sluice get ksvc`, `sluice get revisions -A`)')
    .argument('<kind>', 'resource kind: plural, singular, short name (ksvc, rev, vs, ...)')
    .argument('[name]', 'object name')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-A, --all-namespaces', 'list across all namespaces')
    .option('-l, --selector <selector>', 'label selector')
    .option('-o, --output <format>', 'yaml, json or wide', parseOutput))
    .action(async (kindArg: string, name: string | undefined, o: GetOptions) => {
      const kind = kindByName(kindArg);
      if (!kind) throw new SluiceError('SLUICE_E_CLI_UNKNOWN_KIND', `unknown resource type "${kindArg}": see \`kubectl api-resources\` for what sluice serves`);
      const client = connect(o);
      const ns = o.allNamespaces && name === undefined ? undefined : o.namespace;
      const q = o.selector ? `?labelSelector=${encodeURIComponent(o.selector)}` : '';
      const p = name === undefined ? collectionPath(kind, ns) + q : objectPath(kind, ns, name);
      if (o.output === 'yaml' || o.output === 'json') {
        const res = await client.request<KubeObject & { items?: KubeObject[] }>('GET', p);
        const objs = name === undefined ? res.body.items ?? [] : [res.body];
        io.out(formatObjects(objs, name !== undefined, o.output));
        return;
      }
      const res = await client.request<Table>('GET', p, { accept: TABLE_ACCEPT });
      if (res.body.rows.length === 0) {
        io.err(ns && kind.namespaced ? `No resources found in ${ns} namespace.\n` : 'No resources found\n');
        return;
      }
      io.out(formatTable(res.body, { wide: o.output === 'wide', withNamespace: ns === undefined && kind.namespaced }));
    });
}
