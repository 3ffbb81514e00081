/** The `sluice` process entry point (bin/sluice.js runs this through tsx). */
import { main } from './program.ts';

const code = await main(process.argv);
if (code !== 0) process.exitCode = code;
