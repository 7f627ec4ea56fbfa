// Generated runs whose config shrinks too, and whose counterexamples keep only commands that matter.
// `configs.chain(...)` shrinks the config only before the first command shrink (it regenerates every
// command for the smaller config, which rarely fails the same way), so a counterexample kept `cpus: 5`
// where 1 would do; and fast-check's array shrinker removes commands from the front (keeping the
// tail) and, inside a mapped tuple of blocks, cannot drop one command in the middle, so redundant
// connects stayed. Here a failing run is first cut to its shortest failing prefix of 1, 2, 4, ...
// commands, then shrinks in three kinds of step, in this order:
//   1. commands dropped, in chunks of half, a quarter, ... down to one command, scanning from the
//      last chunk to the first (a scan resumes where the last successful drop was, so one pass
//      costs about twice as many tries as there are commands);
//   2. when no chunk can go, one field of one command made simpler (a number 0 or one less, an
//      element of a list dropped; a large number only 0, unless the scheme says the field counts
//      down, such as a released port), going on through the fields after it, then scanning again:
//      a smaller limit or hash may let more commands go. Fields get one pass over the commands in
//      all, and none once the run is down to SHORT commands (each try is a whole run, and most
//      simpler fields shorten nothing);
//   3. when neither, two commands of one op merged into one: one is dropped and the value its field
//      had is replaced, in the other commands, by the value the kept one has (first in fields of the
//      same name, then in every field): a second listen whose only use is a spawn of it goes, the
//      spawn now naming the first. Each merge drops a command, so shrinking still ends;
//   4. when none of these, the config, keeping the very commands that failed (a command naming a CPU the
//      smaller config lacks is still a valid command: it is refused or judged like any other); a
//      smaller config restarts the scan; at most CONFIG_TRIES smaller configs are tried in all.
// Every step is deterministic, so fast-check's path still replays a shrunk run.
import fc from 'fast-check';

/** Whether a command's field, however large, steps down one at a time when shrinking. */
export type CountsDown<Cmd> = (cmd: Cmd, key: string) => boolean;

export interface Run<Config, Cmd> {
  config: Config;
  commands: Cmd[];
}

interface Context<Source> {
  source: fc.Value<Source>;
  scan: Scan;
  /** Prefixes not tried yet (a run as generated). */
  prefixes: boolean;
  /** The first command whose fields are tried (the ones before could not be made simpler). */
  field: number;
  /** The last step made a field simpler: the fields after it are tried before the next scan. */
  simplifying: boolean;
  /** Smaller configs still to try, over the whole shrink. */
  configTries: number;
  /** No command was dropped or simplified yet (only a prefix cut, or a smaller config). */
  early: boolean;
}

/**
 * Smaller configs tried in a whole shrink: a config of many fields (a key, a RETA) offers hundreds of
 * smaller ones, and each try is a run; the first few of each step are the big ones (fast-check
 * offers the smallest value first).
 */
const CONFIG_TRIES = 40;

/** Runs of at most this many commands get no field simplification. */
const SHORT = 4;

class ShrinkingRuns<Source, Config, Cmd> extends fc.Arbitrary<Run<Config, Cmd>> {
  constructor(
    private readonly sources: fc.Arbitrary<Source>,
    private readonly configOf: (source: Source) => Config,
    private readonly commandsFor: (source: Source) => fc.Arbitrary<Cmd[]>,
    private readonly countsDown: CountsDown<Cmd>,
    private readonly configFirst: boolean,
  ) {
    super();
  }

  private value(source: fc.Value<Source>, commands: Cmd[], scan: Scan, prefixes: boolean, field = 0, simplifying = false, configTries = CONFIG_TRIES, early = false): fc.Value<Run<Config, Cmd>> {
    const context: Context<Source> = { source, scan, prefixes, field, simplifying, configTries, early };
    return new fc.Value({ config: this.configOf(source.value_), commands }, context);
  }

  generate(mrng: fc.Random, biasFactor: number | undefined): fc.Value<Run<Config, Cmd>> {
    const source = this.sources.generate(mrng, biasFactor);
    const commands = this.commandsFor(source.value_).generate(mrng, biasFactor).value;
    return this.value(source, commands, fresh(commands.length), true, 0, false, CONFIG_TRIES, true);
  }

  canShrinkWithoutContext(_value: unknown): _value is Run<Config, Cmd> {
    return false;
  }

  shrink(run: Run<Config, Cmd>, context: unknown): fc.Stream<fc.Value<Run<Config, Cmd>>> {
    const { source, scan, prefixes, field, simplifying, configTries, early } = context as Context<Source>;
    const { commands } = run;
    const dropped = fc.stream(chunks(commands.length, scan)).map(({ at, size, next }) => this.value(source, [...commands.slice(0, at), ...commands.slice(at + size)], next, false, at < field ? Math.max(0, field - size) : field, false, configTries));
    // Fields are simplified only on runs still longer than SHORT: below, a simpler field rarely lets a command go.
    const simplified = fc
      .stream(commands.length > SHORT ? simplerRuns(commands, field, this.countsDown) : [][Symbol.iterator]())
      .map(([simpler, at]) => this.value(source, simpler, singles(simpler.length), false, at, true, configTries));
    const merged = fc.stream(mergedRuns(commands)).map((merged) => this.value(source, merged, singles(merged.length), false, 0, false, configTries));
    let tries = 0;
    const byConfig = this.sources
      .shrink(source.value_, source.context)
      .take(configTries)
      .map((s) => this.value(s, commands, singles(commands.length), false, field, false, configTries - ++tries, early));
    // A simpler field goes on with the fields after it; a dropped chunk with the rest of its scan.
    if (simplifying) return simplified.join(dropped, merged, byConfig);
    // Where a big config makes every run costly, it shrinks right after the prefix cut, before the commands.
    if (!prefixes && early && this.configFirst) return byConfig.join(dropped, simplified, merged);
    if (!prefixes) return dropped.join(simplified, merged, byConfig);
    // First the shortest failing prefix of 1, 2, 4, ... commands: the scan then never replays commands past the failure.
    const cut = fc.stream(doubling(commands.length)).map((n) => this.value(source, commands.slice(0, n), fresh(n), false, 0, false, configTries, true));
    return cut.join(dropped, simplified, merged, byConfig);
  }
}

/** Where a scan stands: it drops `size` commands ending before `end`, then halves `size`. */
interface Scan {
  size: number;
  end: number;
}

const fresh = (length: number): Scan => ({ size: Math.max(1, 2 ** Math.floor(Math.log2(Math.max(1, length / 2)))), end: length });

/** A scan of single commands: after a simpler field or config, the chunks have gone already. */
const singles = (length: number): Scan => ({ size: 1, end: length });

/** The chunks to drop, last first, each with where the scan resumes if dropping it still fails. */
function* chunks(length: number, { size, end }: Scan): IterableIterator<{ at: number; size: number; next: Scan }> {
  for (let s = size, e = Math.min(end, length); s >= 1; s = s / 2, e = length) {
    for (let at = e - s; at >= 0; at -= s) yield { at, size: s, next: { size: s, end: at } };
    if (s === 1) return;
  }
}

/** The commands with one field of one command made simpler (a number 0 or one less, an element of a list dropped), from command `from` on. */
function* simplerRuns<Cmd>(commands: Cmd[], from: number, countsDown: CountsDown<Cmd>): IterableIterator<[Cmd[], number]> {
  for (let i = from; i < commands.length; i++) {
    for (const cmd of simplerCommands(commands[i], countsDown)) yield [commands.map((c, j) => (j === i ? cmd : c)), i];
  }
}

function* simplerCommands<Cmd>(cmd: Cmd, countsDown: CountsDown<Cmd>): IterableIterator<Cmd> {
  if (cmd === null || typeof cmd !== 'object') return;
  for (const [key, value] of Object.entries(cmd)) {
    if (typeof value === 'number' && Number.isInteger(value) && value > 0) {
      // Small numbers (a CPU, a limit, an id) step down; large ones (a hash) only try 0, which ends
      // at once: a hash stepped down one by one would keep failing for ages.
      for (const smaller of value <= 8 || countsDown(cmd, key) ? new Set([0, value - 1]) : [0]) yield { ...cmd, [key]: smaller };
    }
    if (Array.isArray(value)) for (let k = 0; k < value.length; k++) yield { ...cmd, [key]: value.filter((_, j) => j !== k) };
  }
}

/**
 * The commands with command `j` dropped and merged into an earlier or later command `i` of the same op:
 * where `j`'s field `key` held `a` and `i`'s holds `b`, every other command's `a` becomes `b` — in
 * fields named `key` only, then in every field (an id may be named `local` where made and `listener`
 * where used). Only values some other command uses: otherwise dropping `j` alone was tried already.
 */
function* mergedRuns<Cmd>(commands: Cmd[]): IterableIterator<Cmd[]> {
  const fields = (cmd: Cmd) => (cmd !== null && typeof cmd === 'object' ? Object.entries(cmd) : []);
  for (let j = commands.length - 1; j >= 0; j--) {
    const dropped = commands[j] as Record<string, unknown>;
    for (const [key, a] of fields(commands[j])) {
      if (key === 'op' || typeof a !== 'number') continue;
      const usedElsewhere = commands.some((c, n) => n !== j && fields(c).some(([, v]) => v === a));
      if (!usedElsewhere) continue;
      // The every-field variant only where some other field holds `a` too (else it is the same run).
      const inOtherFields = commands.some((c, n) => n !== j && fields(c).some(([k, v]) => v === a && k !== key));
      const seen = new Set<number>();
      for (let i = 0; i < commands.length; i++) {
        const kept = commands[i] as Record<string, unknown>;
        const b = kept[key];
        if (i === j || kept.op !== dropped.op || typeof b !== 'number' || b === a || seen.has(b)) continue;
        seen.add(b);
        for (const everyField of inOtherFields ? [false, true] : [false]) {
          yield commands.flatMap((c, n) => {
            if (n === j) return [];
            const renamed = Object.fromEntries(fields(c).map(([k, v]) => [k, v === a && (everyField || k === key) ? b : v]));
            return [renamed as Cmd];
          });
        }
      }
    }
  }
}

function* doubling(length: number): IterableIterator<number> {
  for (let n = 1; n < length; n *= 2) yield n;
}

/**
 * Runs drawn from `sources` (a config, or a config with a run-wide choice such as a mode): the config
 * is `configOf(source)`, the commands come from `commandsFor(source)`; both shrink (see above).
 * `countsDown` says which fields of a command step down one at a time even when large (a released
 * port: its range bounds the steps), not only to 0; `configFirst` shrinks the config right after the
 * prefix cut, for schemes whose big configs (a wide port range) make each try costly.
 */
export function shrinkingRuns<Source, Config, Cmd>(
  sources: fc.Arbitrary<Source>,
  configOf: (source: Source) => Config,
  commandsFor: (source: Source) => fc.Arbitrary<Cmd[]>,
  { countsDown = () => false, configFirst = false }: { countsDown?: CountsDown<Cmd>; configFirst?: boolean } = {},
): fc.Arbitrary<Run<Config, Cmd>> {
  return new ShrinkingRuns(sources, configOf, commandsFor, countsDown, configFirst);
}
