#!/usr/bin/env node
// Entry point: runs the TypeScript CLI through tsx so `npm link` / `npx sluice` work without a build step.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
