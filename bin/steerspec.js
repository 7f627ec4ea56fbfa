#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loaders: npm skips install scripts, so there is no build step.
// Both hooks are registered so that an --adapter module loads whatever its folder's package.json says
// (a .ts or .js file beside no package.json is CommonJS to Node, and goes through the CJS hook).
import { register as registerCommonJs } from 'tsx/cjs/api';
import { register } from 'tsx/esm/api';

register();
registerCommonJs();
try {
  await import('../cli/main.ts');
} catch (e) {
  // The oracle itself could not start: exit 4, never a code a verdict uses.
  console.error(`steerspec: internal error: ${e?.stack ?? e}`);
  process.exit(4);
}
