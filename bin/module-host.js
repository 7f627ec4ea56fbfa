#!/usr/bin/env node
// Runs an --adapter module in a process of its own, speaking steerspec/1 on stdio (adapters/module-host.ts),
// so the oracle holds a module to the same deadlines and isolation as any program.
import { register as registerCommonJs } from 'tsx/cjs/api';
import { register } from 'tsx/esm/api';

register();
registerCommonJs();
await import('../adapters/module-host.ts');
