// A planted bug: the real implementation with one thing wrong, and the property that must catch it.
// Apart from the harness (properties/harness.ts) so that a fixture loads without the test runner: an
// adapter module built on one (adapters/fixtures/module-buggy.ts) starts as fast as any module.
import type { Implementation } from '../core/scheme.ts';

export interface PlantedBug<Config = any> {
  /** What is wrong, as a sentence. */
  name: string;
  /** The property that must catch it. */
  caughtBy: string;
  implementation(config: Config): Implementation;
  /** It needs at least this many commands to show: no seed shrinks it shorter. */
  needs?: number;
  /** Its shortest counterexample is longer than the scheme's limit (docs/power.md says why): this limit instead. */
  longest?: number;
}

/** A planted bug made of an implementation subclass with one method wrong. */
export function plantedBug<Config>(
  name: string,
  caughtBy: string,
  Impl: new (config: Config) => Implementation,
  needs?: number,
  longest?: number,
): PlantedBug<Config> {
  return { name, caughtBy, implementation: (config) => new Impl(config), ...(needs ? { needs } : {}), ...(longest ? { longest } : {}) };
}
