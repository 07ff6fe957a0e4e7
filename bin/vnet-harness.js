#!/usr/bin/env node
// Entry point of the `vnet-harness` bin: loads the TypeScript CLI through tsx,
// so `npx vnet-harness` works right after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
const code = await main(process.argv);
// Exit now: a closed serial port or SSH client may keep a handle for seconds,
// and every child that must not outlive us is reaped on 'exit'.
process.exit(code);
