// The module adapter: a JavaScript or TypeScript module exporting
//   create(scheme: string, config: object) => { apply(command) => outcome, snapshot?() => state,
//                                                capabilities?: { hash?: boolean } } | null
// `create` returning null declines the scheme (reported as skipped); `apply` may return a promise.
// A snapshot counts only if it has the model's State shape (see snapshotFits).
// The built-in impl/ is the same thing without the import.
import { pathToFileURL } from 'node:url';
import { AdapterFault } from '../core/runner.ts';
import type { Implementation } from '../core/scheme.ts';
import { checked, snapshotFits, Unsupported, type Subject } from '../core/subject.ts';

interface AdapterModule {
  create(scheme: string, config: unknown): (Implementation & { capabilities?: { hash?: boolean } }) | null | undefined;
}

export function moduleSubject(path: string, asGiven = path): Subject {
  let loaded: Promise<AdapterModule> | undefined;
  const load = () =>
    (loaded ??= import(pathToFileURL(path).href).then(
      (m: Partial<AdapterModule> & { default?: Partial<AdapterModule> | AdapterModule['create'] }) => {
        const create = m.create ?? (typeof m.default === 'function' ? m.default : m.default?.create);
        if (typeof create !== 'function') throw new AdapterFault('protocol-error', `${asGiven} exports no create(scheme, config) function`);
        return { create };
      },
      (e: Error) => {
        throw new AdapterFault('crashed', `cannot load ${asGiven}: ${e.message}`);
      },
    ));
  return {
    describe: `--adapter ${asGiven}`,
    async start(scheme, config) {
      const { create } = await load();
      let impl;
      try {
        impl = await create(scheme.name, config);
      } catch (e) {
        throw new AdapterFault('crashed', `create(${JSON.stringify(scheme.name)}, …) threw: ${(e as Error).message}`);
      }
      if (impl === null || impl === undefined) throw new Unsupported('unsupported-scheme', `${asGiven} returned nothing for ${scheme.name}`);
      if (typeof impl.apply !== 'function') throw new AdapterFault('protocol-error', `create(${JSON.stringify(scheme.name)}, …) returned an object without apply()`);
      return checked(scheme, impl, { hash: impl.capabilities?.hash ?? true, snapshot: await snapshotFits(scheme, config, impl) });
    },
    async close() {},
  };
}
