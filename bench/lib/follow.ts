/** One reader process for bench/stats.ts: follows an engine's sample ring for S seconds. */
import { StatsReader } from '@fastpath/control';

const [name, seconds = '3'] = process.argv.slice(2);
const reader = StatsReader.attach(name);
const deadline = Date.now() + Number(seconds) * 1000;
let samples = 0;
let missed = 0;
for await (const sample of reader.watch(2)) {
  samples += 1;
  missed += sample.missed;
  if (Date.now() > deadline) break;
}
console.log(JSON.stringify({ samples, missed }));
