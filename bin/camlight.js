#!/usr/bin/env node
// The `camlight` command: camlight ships TypeScript sources, so register tsx's loader and run
// the real entry point, src/cli/main.ts.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/cli/main.ts', import.meta.url).href);
