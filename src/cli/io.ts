/**
 * Where CLI commands write, and the exit code they ask for. Commands write through `io` rather
 * than process.stdout so tests can run them in-process and read what they printed.
 */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Set to non-zero by a command that printed an error but carried on (e.g. one bad manifest of several). */
  exitCode: number;
}

export const io: CliIo = {
  out: (text) => { process.stdout.write(text); },
  err: (text) => { process.stderr.write(text); },
  exitCode: 0,
};
