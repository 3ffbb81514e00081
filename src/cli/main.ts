/** The `sluice` command line (bin/sluice.js runs this through tsx). */
import { Command, CommanderError } from 'commander';
import { errorMessage, isSluiceError } from '../lib/errors.ts';
import { COMMANDS } from './commands/index.ts';

export function buildProgram(): Command {
  const program = new Command('sluice')
    .description('serverless platform with a built-in service mesh: Knative Serving on Istio, on one machine')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  for (const c of COMMANDS) c.register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    const code = isSluiceError(e) ? ` [${e.code}]` : '';
    process.stderr.write(`error: ${errorMessage(e)}${code}\n`);
    return 1;
  }
}

const code = await main(process.argv);
if (code !== 0) process.exitCode = code;
