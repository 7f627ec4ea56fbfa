// The host of a module adapter: it loads a module exporting
//   create(scheme: string, config: object) => { apply(command) => outcome, snapshot?() => state,
//                                                capabilities?: { hash?: boolean, concurrent?: boolean } } | null
// and serves it as a steerspec/1 program. `create` returning null declines the scheme; `apply` may return
// a promise. With `concurrent`, a parallel request (one with an `id`) is handed to `apply` at once, before
// earlier ones have resolved, and its reply carries the same `id` (docs/concurrency.md). Whatever the module does (hangs, throws, calls process.exit, prints), it happens in this
// process: the oracle sees a timeout or a crash, never its own exit code changed. The module's own
// console output goes to stderr, so it cannot corrupt the protocol on stdout.
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

interface Implementation {
  apply(cmd: unknown): unknown;
  snapshot?(): unknown;
  capabilities?: { hash?: boolean; concurrent?: boolean };
}
type Create = (scheme: string, config: unknown) => Implementation | null | undefined | Promise<Implementation | null | undefined>;

const path = process.argv[2];
const reply = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
const send = (message: unknown) => reply(`${JSON.stringify(message)}\n`);
/** Ends the host with the reason on stderr (written at once: stderr is synchronous on pipes and files). */
const die = (message: string): never => {
  process.stderr.write(`${message}\n`);
  return process.exit(3);
};

let create: Create;
try {
  const m = (await import(pathToFileURL(path).href)) as { create?: Create; default?: Create | { create?: Create } };
  const found = m.create ?? (typeof m.default === 'function' ? m.default : m.default?.create);
  if (typeof found !== 'function') die(`${path} exports no create(scheme, config) function`);
  create = found!;
} catch (e) {
  die(`cannot load ${path}: ${(e as Error).message}`);
}

let current: Implementation | undefined;
const show = (value: unknown) => JSON.stringify(value)?.slice(0, 160);
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (line.trim() === '') continue;
  const request = JSON.parse(line) as { op: string; scheme?: string; config?: unknown };
  if (request.op === 'init') {
    let made: Implementation | null | undefined;
    try {
      made = await create!(request.scheme!, request.config);
    } catch (e) {
      die(`create(${JSON.stringify(request.scheme)}, …) threw: ${(e as Error).message}`);
    }
    if (made === null || made === undefined) {
      send({ ok: false, error: 'unsupported-scheme', message: `${path} returned nothing for ${request.scheme}` });
      continue;
    }
    if (typeof made.apply !== 'function') die(`create(${JSON.stringify(request.scheme)}, …) returned an object without apply()`);
    current = made;
    const concurrent = made.capabilities?.concurrent === true ? { concurrent: true } : {};
    send({ ok: true, capabilities: { hash: made.capabilities?.hash ?? true, snapshot: typeof made.snapshot === 'function', ...concurrent } });
  } else if (request.op === 'snapshot') {
    try {
      send(await current!.snapshot!());
    } catch (e) {
      die(`snapshot() threw: ${(e as Error).message}`);
    }
  } else if ('id' in request) {
    // A parallel request: not awaited here, so the next line (another branch's) is read meanwhile.
    const { id, branch: _branch, ...cmd } = request as { id: number; branch: number; op: string };
    const made = current!;
    void (async () => {
      try {
        send({ ...((await made.apply(cmd)) as object), id });
      } catch (e) {
        die(`apply(${show(cmd)}) threw: ${e instanceof Error ? e.message : String(e)}`);
      }
    })();
  } else {
    try {
      send(await current!.apply(request));
    } catch (e) {
      die(`apply(${show(request)}) threw: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
// The oracle closed stdin: leave, whatever timers the module left behind.
process.exit(0);
