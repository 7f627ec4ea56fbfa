// Every specified scheme, by name. The CLI, trace replay and the adapters look schemes up here.
import type { AnyScheme } from './core/scheme.ts';
import { reuserpsScheme } from './properties/reuserps.ts';
import { numaScheme } from './properties/numa.ts';
import { dragonflyScheme } from './properties/dragonfly.ts';
import { rssPortsScheme } from './properties/rss-ports.ts';
import { fastsocketScheme } from './properties/fastsocket.ts';
import { linuxReuseportScheme } from './properties/linux-reuseport.ts';

/**
 * Runs per scheme of `steerspec check` when --runs is not given: every planted bug is caught within it
 * on each of the planted-bug gate's seeds (properties/harness.ts), and all schemes are checked within a
 * minute on 2 cores (docs/power.md has the measurements).
 */
export const DEFAULT_RUNS = 200;

export const schemes = new Map<string, AnyScheme>(
  [
    reuserpsScheme,
    numaScheme,
    dragonflyScheme,
    rssPortsScheme,
    fastsocketScheme,
    linuxReuseportScheme,
  ].map((scheme) => [scheme.name, scheme]),
);
