// Outgoing-port alignment drawn as the range split by bucket: for the current remote, each bucket's aligned
// ports, each marked with the revision holding it; older revisions' holdings listed below with their remotes.
import { alignedPorts, bucketCount, type Command, type Outcome, type State } from '../../model/rss-ports.ts';
import { cell, esc, facts, grid, type Picture } from './draw.ts';

/** Beyond this many aligned ports a bucket is drawn as counts, not port by port. */
const PORTS_DRAWN = 24;

export const rssPortsPicture: Picture<State, Command, Outcome> = {
  axes: ['bucket asked for', 'revision'],
  draw(s) {
    const current = s.held[s.revision];
    const heldNow = (port: number) => current?.ports[port] === true;
    const buckets = Array.from({ length: Math.min(bucketCount(s.config), 64) }, (_, b) => b);
    const range = s.remote
      ? grid(
          `port range ${s.config.portRange[0]}..${s.config.portRange[1]} by bucket, for ${s.remote.address}:${s.remote.port} (revision ${s.revision}; ● held)`,
          ['bucket', 'aligned ports', 'held'],
          buckets.map((b) => {
            const ports = alignedPorts(s.config, s.remote!, b);
            const held = ports.filter(heldNow);
            const shown = ports.length <= PORTS_DRAWN ? ports.map((p) => `${heldNow(p) ? '●' : '○'}${p}`).join(' ') : `${ports.length} ports`;
            return { label: `bucket ${b}`, cells: [cell(`b${b}:ports`, shown || '—'), cell(`b${b}:held`, `${held.length}/${ports.length}`)] };
          }),
        )
      : `<p class="facts">no remote yet: every allocate is no-remote</p>`;
    const revisions = grid(
      'held ports per revision',
      ['revision', 'remote', 'ports'],
      Object.entries(s.held).map(([r, h]) => ({
        label: `rev ${r}${Number(r) === s.revision ? ' (current)' : ''}`,
        cells: [cell(`r${r}:remote`, `${h.remote.address}:${h.remote.port}`), cell(`r${r}:ports`, Object.keys(h.ports).join(' '))],
      })),
    );
    return facts([['align', s.config.align], ['revision', s.revision], ['same remote again', s.sameRemoteAgain], ['unnamed bucket', s.unnamedBucket]]) + range + revisions + (bucketCount(s.config) > 64 ? `<p class="facts">${esc(bucketCount(s.config) - 64)} more buckets not drawn</p>` : '');
  },
  // An allocate holds its port under the current revision and changes none.
  landed: (cmd, outcome, state) => (cmd.op === 'allocate' && outcome.ok ? [`bucket ${cmd.bucket}`, `rev ${state.revision}`] : undefined),
};
