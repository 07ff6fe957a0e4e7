#!/usr/bin/env node
// Entry point of the `vnet-harness` bin: loads the TypeScript CLI through tsx,
// so `npx vnet-harness` works right after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv);
