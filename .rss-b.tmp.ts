import { RssPortsImpl } from './impl/rss-ports.ts';
import { configSchema } from './model/rss-ports.ts';
const impl = new RssPortsImpl(configSchema.parse({}));
const out = new Int32Array(30000);
const rs = ['198.51.100.7','203.0.113.9'];
let s = 0;
for (let rep = 0; rep < 3; rep++) {
let t = performance.now(); for (let i = 0; i < 20000; i++) s += impl.setRemote(rs[i & 1], 443); const a = performance.now() - t;
t = performance.now(); for (let i = 0; i < 20000; i++) s += impl.alignedInto(3, out); const b = performance.now() - t;
console.log('setRemote us', (a / 20).toFixed(2), 'alignedInto us', (b / 20).toFixed(2));
}
