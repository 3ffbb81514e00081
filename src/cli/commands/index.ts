/** Every `sluice` subcommand, registered in this order. Add a line per new command file. */
import type { Command } from 'commander';
import * as up from './up.ts';
import * as apply from './apply.ts';
import * as get from './get.ts';
import * as del from './delete.ts';
import * as logs from './logs.ts';
import * as bench from './bench.ts';
import * as proxy from './proxy.ts';
import * as token from './token.ts';
import * as ui from './ui.ts';

export const COMMANDS: { register(program: Command): void }[] = [
  up,
  apply,
  get,
  del,
  logs,
  bench,
  proxy,
  token,
  ui,
];
