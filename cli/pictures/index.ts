// Each scheme's picture, by scheme name: what the HTML report draws a state with.
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
