#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader: npm skips install scripts, so there is no build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
