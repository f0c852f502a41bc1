#!/usr/bin/env node
// The `hub` command. TypeScript runs through tsx's loader, so there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../services/cli/index.ts');
process.exitCode = await main(process.argv.slice(2));
