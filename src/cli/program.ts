/** The `sluice` command tree and its runner (main.ts is the process entry point). */
import { Command, CommanderError } from 'commander';
import { errorMessage, isSluiceError } from '../lib/errors.ts';
import { COMMANDS } from './commands/index.ts';
import { io } from './io.ts';

export function buildProgram(): Command {
  const program = new Command('sluice')
    .description('serverless platform with a built-in service mesh: Knative Serving on Istio, on one machine')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  for (const c of COMMANDS) c.register(program);
  return program;
}

/** Runs one command line (`argv` as in process.argv); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  io.exitCode = 0;
  try {
    await buildProgram().parseAsync(argv);
    return io.exitCode || (typeof process.exitCode === 'number' ? process.exitCode : 0);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    const code = isSluiceError(e) ? ` [${e.code}]` : '';
    io.err(`error: ${errorMessage(e)}${code}\n`);
    return 1;
  }
}
