// The process adapter: any program speaking steerspec/1 — one JSON object per line on stdin, one
// reply per line on stdout, logs on stderr. One process serves every run: each run begins with an
// `init`. A reply that is not JSON, no reply before the deadline, or the process exiting become
// AdapterFaults (protocol-error, timeout, crashed) with the evidence quoted.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { z } from 'zod';
import { AdapterFault } from '../core/runner.ts';
import type { AnyScheme } from '../core/scheme.ts';
import { checked, shellQuote, snapshotFits, Unsupported, type Subject } from '../core/subject.ts';
import { show } from '../core/vocabulary.ts';

export const PROTOCOL = 'steerspec/1';

const initReply = z.union([
  z.strictObject({ ok: z.literal(true), capabilities: z.strictObject({ hash: z.boolean(), snapshot: z.boolean(), concurrent: z.boolean().optional() }) }),
  z.strictObject({ ok: z.literal(false), error: z.enum(['unsupported-scheme', 'unsupported-config']), message: z.string().optional() }),
]);

const STDERR_KEPT = 8192;

// Every adapter process group alive in this process, whichever thread started it: worker threads tell
// the main thread through a BroadcastChannel, so an interrupt there can kill them all.
const groups = new Set<number>();
const channel = new BroadcastChannel('steerspec-adapter-processes');
channel.onmessage = (event) => {
  const { pid, alive } = (event as MessageEvent<{ pid: number; alive: boolean }>).data;
  if (alive) groups.add(pid);
  else groups.delete(pid);
};
(channel as unknown as { unref?: () => void }).unref?.();
const announce = (pid: number, alive: boolean) => {
  if (alive) groups.add(pid);
  else groups.delete(pid);
  channel.postMessage({ pid, alive });
};

/** Kills every adapter process group this process (any of its threads) has started and not yet seen end. */
export function killEveryProcess(): void {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
const STARTUP_MS = 10_000;

export interface ProcessOptions {
  timeoutMs: number;
  /** Where the program's whole stderr is appended (its log); without it only the last 8 KiB are kept, for messages. */
  logFile?: string;
  /** Extra environment for the program. */
  env?: Record<string, string>;
}

/** A running adapter process and the one request it may have outstanding. */
class Connection {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffered = '';
  private readonly lines: string[] = [];
  private waiting?: (line: string | Error) => void;
  /** Parallel requests awaiting their reply, by `id` (docs/concurrency.md): replies may come in any order. */
  private readonly tagged = new Map<number, (reply: unknown | Error) => void>();
  private exit?: string;
  stderr = '';

  constructor(readonly command: string, options: ProcessOptions) {
    // Its own process group, so a kill reaches the program and not only the shell that started it.
    this.child = spawn('/bin/sh', ['-c', command], { stdio: 'pipe', detached: true, env: { ...process.env, ...options.env } });
    const pid = this.child.pid;
    if (pid !== undefined) {
      announce(pid, true);
      this.child.once('exit', () => announce(pid, false));
    }
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      this.buffered += chunk;
      let newline: number;
      while ((newline = this.buffered.indexOf('\n')) >= 0) {
        this.lines.push(this.buffered.slice(0, newline).replace(/\r$/, ''));
        this.buffered = this.buffered.slice(newline + 1);
      }
      this.wake();
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_KEPT);
      if (options.logFile) appendFileSync(options.logFile, chunk);
    });
    this.child.stdin.on('error', () => {}); // a dead reader shows up as the exit below
    this.child.on('error', (e) => this.died(`could not start: ${e.message}`));
    this.child.on('exit', (code, signal) => this.died(signal ? `killed by ${signal}` : `exited with code ${code}`));
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** Sends one object and waits for one reply line. */
  async request(message: unknown, timeoutMs: number): Promise<unknown> {
    if (!this.alive) throw this.crashed(message);
    if (this.lines.length > 0) {
      const extra = this.lines[0];
      this.kill();
      throw new AdapterFault('protocol-error', `the program wrote a line nobody asked for, before ${show(message)}: ${show(extra)}`);
    }
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
    const line = await new Promise<string | Error>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        resolve(new AdapterFault('timeout', `no reply to ${show(message)} within ${timeoutMs} ms${this.tail()}`));
      }, timeoutMs);
      this.waiting = (got) => {
        clearTimeout(timer);
        resolve(got);
      };
      this.wake();
    });
    if (line instanceof Error) {
      this.kill();
      throw line;
    }
    try {
      return JSON.parse(line);
    } catch {
      this.kill();
      throw new AdapterFault('protocol-error', `reply to ${show(message)} is not JSON: ${show(line)}`);
    }
  }

  /** Sends a parallel request (it carries `id` and `branch`) and waits for the reply with that `id`. */
  async requestTagged(message: { id: number }, timeoutMs: number): Promise<unknown> {
    if (!this.alive) throw this.crashed(message);
    if (this.tagged.has(message.id)) throw new Error(`request id ${message.id} is already outstanding`);
    const reply = new Promise<unknown | Error>((resolve) => {
      const timer = setTimeout(() => {
        this.tagged.delete(message.id);
        resolve(new AdapterFault('timeout', `no reply to ${show(message)} within ${timeoutMs} ms${this.tail()}`));
      }, timeoutMs);
      this.tagged.set(message.id, (got) => {
        clearTimeout(timer);
        this.tagged.delete(message.id);
        resolve(got);
      });
    });
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
    this.wake();
    const got = await reply;
    if (got instanceof Error) {
      this.kill();
      throw got;
    }
    return got;
  }

  /** Routes reply lines to the parallel requests by `id`; anything else ends them all as a protocol error. */
  private wakeTagged(): void {
    const fail = (error: AdapterFault) => {
      for (const take of [...this.tagged.values()]) take(error);
    };
    while (this.lines.length > 0 && this.tagged.size > 0) {
      const line = this.lines.shift()!;
      let reply: unknown;
      try {
        reply = JSON.parse(line);
      } catch {
        return fail(new AdapterFault('protocol-error', `a reply to a parallel request is not JSON: ${show(line)}`));
      }
      const id = reply !== null && typeof reply === 'object' ? (reply as { id?: unknown }).id : undefined;
      const take = typeof id === 'number' ? this.tagged.get(id) : undefined;
      if (!take) return fail(new AdapterFault('protocol-error', `a reply to a parallel request has no "id" of an outstanding one (${[...this.tagged.keys()].join(', ')}): ${show(line)}`));
      const { id: _id, ...outcome } = reply as Record<string, unknown>;
      take(outcome);
    }
    if (!this.alive && this.tagged.size > 0) fail(this.crashed());
  }

  kill(): void {
    this.exit ??= 'was killed by the oracle';
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    this.child.stdout.destroy();
    this.child.stderr.destroy();
  }

  async close(): Promise<void> {
    if (!this.alive) return this.kill();
    this.child.stdin.end();
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    const timer = setTimeout(() => this.kill(), 1000);
    await exited;
    clearTimeout(timer);
    this.kill();
  }

  private wake(): void {
    if (this.tagged.size > 0) return this.wakeTagged();
    if (!this.waiting) return;
    const take = this.waiting;
    if (this.lines.length > 0) {
      this.waiting = undefined;
      take(this.lines.shift()!);
    } else if (!this.alive) {
      this.waiting = undefined;
      take(this.crashed());
    }
  }

  private died(how: string): void {
    this.exit ??= how;
    // Let stdout and stderr drain before a waiting request learns of the exit.
    setImmediate(() => this.wake());
  }

  private crashed(message?: unknown): AdapterFault {
    return new AdapterFault('crashed', `the process ${this.exit ?? 'died'}${message === undefined ? '' : ` (before replying to ${show(message)})`}${this.tail()}`);
  }

  private tail(): string {
    const text = this.stderr.trim();
    return text ? `; stderr ends: ${show(text.slice(-600), 600)}` : '';
  }
}

export function processSubject(command: string, options: ProcessOptions): Subject {
  let connection: Connection | undefined;
  return {
    describe: `--exec ${shellQuote(command)}${options.timeoutMs !== 2000 ? ` --timeout ${options.timeoutMs}` : ''}`,
    async start(scheme: AnyScheme, config: unknown) {
      const fresh = !connection?.alive;
      if (fresh) connection = new Connection(command, options);
      const current = connection!;
      // The first init also waits for the program to start (an interpreter, a namespace, a build).
      const deadline = fresh ? Math.max(options.timeoutMs, STARTUP_MS) : options.timeoutMs;
      const raw = await current.request({ op: 'init', protocol: PROTOCOL, scheme: scheme.name, config }, deadline);
      const reply = initReply.safeParse(raw);
      if (!reply.success) {
        current.kill();
        throw new AdapterFault('protocol-error', `reply to init is not an init reply of ${PROTOCOL}: ${show(raw)}`);
      }
      if (!reply.data.ok) throw new Unsupported(reply.data.error, reply.data.message ?? '');
      const implementation = {
        apply: (cmd: unknown) => current.request(cmd, options.timeoutMs),
        applyAt: (cmd: unknown, tag: { id: number; branch: number }) => current.requestTagged({ ...(cmd as object), ...tag }, options.timeoutMs),
        snapshot: () => current.request({ op: 'snapshot' }, options.timeoutMs),
      };
      const snapshot = reply.data.capabilities.snapshot && (await snapshotFits(scheme, config, implementation));
      return checked(scheme, implementation, { ...reply.data.capabilities, snapshot });
    },
    async close() {
      await connection?.close();
    },
    abort() {
      connection?.kill();
    },
  };
}
