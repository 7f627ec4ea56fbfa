// Every specified scheme, by name. The CLI, trace replay and the adapters look schemes up here.
import type { AnyScheme } from './core/scheme.ts';
import { reuserpsScheme } from './properties/reuserps.ts';
import { dragonflyScheme } from './properties/dragonfly.ts';

export const schemes = new Map<string, AnyScheme>(
  [
    reuserpsScheme,
    dragonflyScheme,
  ].map((scheme) => [scheme.name, scheme]),
);
