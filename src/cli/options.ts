/** Option parsers shared by commands. */
import { InvalidArgumentError } from 'commander';

export function parsePort(v: string): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError(`"${v}" is not a port number (0-65535)`);
  return Number(v);
}
