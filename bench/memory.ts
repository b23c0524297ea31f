/**
 * Hugepage memory each side takes for the same forwarding job (two net_null ports, one
 * worker): testpmd with its default pool (it sizes the pool itself) and Fastpath with its
 * default pool (8191 mbufs, started on its memory plan). Measured as the drop in free 2 MiB
 * hugepages while each runs.
 *
 *   npx tsx bench/memory.ts [--json]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { Engine } from '@fastpath/control';

import { fastpathConfig, spawnTestpmd, testpmdArgs } from './lib/forward.js';

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false } } });
const PAGES = '/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages';
const free = () => Number(readFileSync(PAGES, 'utf8'));

async function testpmdPages(): Promise<{ pages: number; mbufs: number }> {
  const before = free();
  const child = spawnTestpmd(testpmdArgs('io', { noHuge: false, prefix: `bench-mem-${process.pid}` }));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 30_000;
  while (!out.includes('testpmd> ')) {
    if (Date.now() > deadline) throw new Error('testpmd did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const pages = before - free();
  child.stdin.write('quit\n');
  await new Promise((resolve) => child.on('close', resolve));
  return { pages, mbufs: Number(/create a new mbuf pool <[^>]+>: n=(\d+)/.exec(out)?.[1] ?? 0) };
}

async function fastpathPages(): Promise<{ pages: number; mbufs: number; planned: number }> {
  const before = free();
  const config = fastpathConfig('io', { noHuge: false, mbufs: 8191 });
  const engine = await Engine.start({ ...config, eal: { filePrefix: `bench-mem-fp-${process.pid}`, logToStderr: false } });
  try {
    return { pages: before - free(), mbufs: engine.info.mempool.capacity, planned: engine.info.memory.plan.pages };
  } finally {
    await engine.stop();
  }
}

const testpmd = await testpmdPages();
const fastpath = await fastpathPages();
const summary = { pageSize: '2 MiB', testpmd, fastpath, ratio: Number((fastpath.pages / testpmd.pages).toFixed(3)) };
if (values.json) console.log(JSON.stringify(summary));
else {
  console.log(`testpmd: ${testpmd.pages} pages (${testpmd.mbufs} mbufs, its default pool)`);
  console.log(`fastpath: ${fastpath.pages} pages (${fastpath.mbufs} mbufs; planned ${fastpath.planned})`);
}
