// Every specified scheme, by name. The CLI, trace replay and the adapters look schemes up here.
import type { AnyScheme } from './core/scheme.ts';
import { reuserpsScheme } from './properties/reuserps.ts';
import { numaScheme } from './properties/numa.ts';
import { dragonflyScheme } from './properties/dragonfly.ts';
import { rssPortsScheme } from './properties/rss-ports.ts';
import { fastsocketScheme } from './properties/fastsocket.ts';
import { linuxReuseportScheme } from './properties/linux-reuseport.ts';

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
