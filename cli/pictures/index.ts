// Each scheme's picture, by scheme name: what the HTML report draws a state with.
import type { Landed } from '../../core/campaign.ts';
import type { Picture } from './draw.ts';
import { dragonflyPicture } from './dragonfly.ts';
import { fastsocketPicture } from './fastsocket.ts';
import { linuxReuseportPicture } from './linux-reuseport.ts';
import { numaPicture } from './numa.ts';
import { reuserpsPicture } from './reuserps.ts';
import { rssPortsPicture } from './rss-ports.ts';

export const pictures = new Map<string, Picture>([
  ['reuserps', reuserpsPicture],
  ['numa', numaPicture],
  ['dragonfly', dragonflyPicture],
  ['rss-ports', rssPortsPicture],
  ['fastsocket', fastsocketPicture],
  ['linux-reuseport', linuxReuseportPicture],
]);

/** Where a scheme's steps land on its heat map, as the campaign counts them (core/campaign.ts `Landed`). */
export function landedOf(scheme: string): Landed | undefined {
  const picture = pictures.get(scheme);
  return picture && ((cmd, outcome, before) => picture.landed(cmd as never, outcome as never, before as never));
}
