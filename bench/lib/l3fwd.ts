/**
 * DPDK's own l3fwd, built from the sources Debian ships in `dpdk-doc`
 * (/usr/share/dpdk/examples/l3fwd) for the routing benches, and run on the same vdevs as
 * Fastpath. The sources are copied (with examples/common beside them, which the Makefile
 * includes) into target/bench/l3fwd-<key>/, patched by the list below, and built once with
 * their Makefile against `pkg-config libdpdk`; the key covers the patches, the mbuf count
 * and DPDK's version, so a change to any of them builds again.
 *
 * l3fwd prints no rates: while it forwards, its port counters are read twice through DPDK's
 * telemetry socket (`/ethdev/stats,<port>`, the socket `dpdk-telemetry.py` reads), after a
 * warm-up, as testpmd's own `show port stats` interval is read on the testpmd side.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ealRuntimeDir } from '@fastpath/control';

import { root } from './forward.js';

const SOURCES = '/usr/share/dpdk/examples';

/**
 * The patch, one substitution each, every one required to match exactly once (so a DPDK
 * update that moves a line fails here, loudly, instead of building something else):
 */
export function l3fwdPatches(mbufs: number): { file: string; from: string; to: string; why: string }[] {
  return [
    // vdevs (net_pcap) have one queue and no RSS or checksum offload: l3fwd's defaults ask for
    // both and rte_eth_dev_configure refuses them.
    { file: 'main.c', from: '.mq_mode = RTE_ETH_MQ_RX_RSS,', to: '.mq_mode = RTE_ETH_MQ_RX_NONE,', why: 'single-queue ports: no RSS' },
    { file: 'main.c', from: '.offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM,', to: '.offloads = 0,', why: 'no rx checksum offload on vdevs' },
    { file: 'main.c', from: '.rss_hf = RTE_ETH_RSS_IP,', to: '.rss_hf = 0,', why: 'no RSS hash on vdevs' },
    // The same packet pool as Fastpath's (l3fwd sizes it from queues and lcores, at least 8192).
    { file: 'main.c', from: '\tnb_lcores*MEMPOOL_CACHE_SIZE),\t\t\\\n\t(unsigned)8192)', to: `\tnb_lcores*MEMPOOL_CACHE_SIZE),\t\t\\\n\t(unsigned)${mbufs})`, why: 'the pool holds as many mbufs as Fastpath\'s' },
    // Room for a million IPv4 routes and a large IPv6 table (l3fwd's tables hold 1024 rules).
    { file: 'l3fwd_lpm.c', from: '#define IPV4_L3FWD_LPM_MAX_RULES         1024', to: '#define IPV4_L3FWD_LPM_MAX_RULES         (1 << 20)', why: 'rte_lpm: 1M rules' },
    { file: 'l3fwd_lpm.c', from: '#define IPV4_L3FWD_LPM_NUMBER_TBL8S (1 << 8)', to: '#define IPV4_L3FWD_LPM_NUMBER_TBL8S (1 << 15)', why: 'rte_lpm: a group per /24 holding longer prefixes (as rte_fib below)' },
    { file: 'l3fwd_lpm.c', from: '#define IPV6_L3FWD_LPM_MAX_RULES         1024', to: '#define IPV6_L3FWD_LPM_MAX_RULES         (1 << 16)', why: 'rte_lpm6: 64k rules' },
    { file: 'l3fwd_lpm.c', from: '#define IPV6_L3FWD_LPM_NUMBER_TBL8S (1 << 16)', to: '#define IPV6_L3FWD_LPM_NUMBER_TBL8S (1 << 18)', why: 'rte_lpm6: groups for tens of thousands of prefixes of /29-/64' },
    { file: 'l3fwd_fib.c', from: 'config_ipv4.max_routes = (1 << 16);', to: 'config_ipv4.max_routes = (1 << 20);', why: 'rte_fib: 1M routes' },
    { file: 'l3fwd_fib.c', from: 'config.trie.num_tbl8 = (1 << 15);', to: 'config.trie.num_tbl8 = (1 << 18);', why: 'rte_fib6: groups for tens of thousands of prefixes of /29-/64' },
  ];
}

/** What to say when the sources are not there. */
export const MISSING_SOURCES = `DPDK's example sources are not installed (${SOURCES}/l3fwd): install Debian's dpdk-doc (as root: apt-get install dpdk-doc), which scripts/setup.sh installs with the rest`;

const dpdkVersion = () => spawnSync('pkg-config', ['--modversion', 'libdpdk'], { encoding: 'utf8' }).stdout.trim();

/** Builds l3fwd (once per patch set) and returns its path. Throws saying what to install when something is missing. */
export function l3fwdBinary(mbufs: number): string {
  if (!existsSync(join(SOURCES, 'l3fwd/Makefile')) || !existsSync(join(SOURCES, 'common'))) throw new Error(MISSING_SOURCES);
  const patches = l3fwdPatches(mbufs);
  const key = createHash('sha256').update(JSON.stringify({ patches, dpdk: dpdkVersion() })).digest('hex').slice(0, 12);
  const dir = join(root, 'target/bench', `l3fwd-${key}`);
  const binary = join(dir, 'l3fwd/build/l3fwd');
  if (existsSync(binary)) return binary;

  const scratch = `${dir}.tmp-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  cpSync(join(SOURCES, 'l3fwd'), join(scratch, 'l3fwd'), { recursive: true });
  cpSync(join(SOURCES, 'common'), join(scratch, 'common'), { recursive: true });
  for (const p of patches) {
    const file = join(scratch, 'l3fwd', p.file);
    const text = readFileSync(file, 'utf8');
    const count = text.split(p.from).length - 1;
    if (count !== 1) throw new Error(`l3fwd patch (${p.why}): expected ${JSON.stringify(p.from)} once in ${p.file}, found it ${count} times; DPDK's l3fwd changed, update bench/lib/l3fwd.ts`);
    writeFileSync(file, text.replace(p.from, p.to));
  }
  const make = spawnSync('make', ['-C', join(scratch, 'l3fwd'), `-j${2}`], { encoding: 'utf8' });
  if (make.status !== 0) {
    throw new Error(`building l3fwd failed (make in ${scratch}/l3fwd; needs make, a C compiler and libdpdk-dev):\n${make.stderr.slice(-2000)}`);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(scratch, dir);
  return binary;
}

export type L3fwdLookup = 'lpm' | 'fib' | 'acl';

export interface L3fwdRun {
  lookup: L3fwdLookup;
  /** l3fwd's --rule_ipv4 and --rule_ipv6 files. */
  rulesV4: string;
  rulesV6: string;
  /** One pcap per port, replayed endlessly. */
  pcaps: readonly string[];
  mbufs: number;
  /** Without hugepages (--no-huge, 2 GiB of ordinary memory): for the smoke test, not for measuring. */
  noHuge?: boolean;
}

export interface L3fwdRates {
  /** Received packets per second per port, in millions, over the measured interval. */
  rxMpps: number;
  /** Sent packets per second per port, in millions. */
  txMpps: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads every port's counters through the telemetry socket, twice, `duration` seconds apart. */
const TELEMETRY_READER = `
import json, socket, sys, time
path, ports, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(path)
s.recv(16384)
def read():
    out = []
    for p in range(ports):
        s.send(('/ethdev/stats,%d' % p).encode())
        out.append(json.loads(s.recv(65536).decode())['/ethdev/stats'])
    return out
a = read(); t0 = time.monotonic()
time.sleep(duration)
b = read(); t1 = time.monotonic()
print(json.dumps({'seconds': t1 - t0, 'before': a, 'after': b}))
`;

/** The vdev arguments for `pcaps`, the same on both sides. */
export const pcapVdev = (port: number, pcap: string) => `net_pcap${port},rx_pcap=${pcap},infinite_rx=1`;

let instances = 0;

/**
 * A running l3fwd on lcore 1 alone (net_pcap ports have one tx queue, and l3fwd gives every
 * lcore one per port), both ports' rx queues on it. It can be paused (SIGSTOP) while
 * another program measures on that CPU and resumed for its next round: l3fwd's LPM mode
 * takes minutes to load a million routes (see bench/README.md), so a bench starts it once.
 */
export class L3fwd {
  readonly #child: ChildProcess;
  readonly #prefix: string;
  readonly #ports: number;
  readonly #exited: Promise<number | null>;
  #code: number | null | undefined;
  #tail = '';
  /** Seconds from spawn to l3fwd's main loop: EAL, ports, and its tables built. */
  startS = 0;

  private constructor(child: ChildProcess, prefix: string, ports: number) {
    this.#child = child;
    this.#prefix = prefix;
    this.#ports = ports;
    this.#exited = new Promise((resolve) => child.on('close', resolve));
    void this.#exited.then((code) => (this.#code = code));
  }

  static async start(run: L3fwdRun, timeoutS = 1800): Promise<L3fwd> {
    const binary = l3fwdBinary(run.mbufs);
    const prefix = `bench-l3fwd-${process.pid}-${instances++}`;
    const vdevs = run.pcaps.flatMap((pcap, port) => ['--vdev', pcapVdev(port, pcap)]);
    const ports = run.pcaps.length;
    const args = [
      '-l', '1', '--no-pci', '--file-prefix', prefix, ...(run.noHuge ? ['--no-huge', '-m', '2048'] : ['--huge-unlink=always']), '--log-level', 'lib.eal:warning', ...vdevs, '--',
      '-p', ((1 << ports) - 1).toString(16), '--config', run.pcaps.map((_, p) => `(${p},0,1)`).join(','),
      '--parse-ptype', `--lookup=${run.lookup}`, `--rule_ipv4=${run.rulesV4}`, `--rule_ipv6=${run.rulesV6}`,
      ...run.pcaps.map((_, p) => `--eth-dest=${p},02:00:00:00:00:${p.toString(16).padStart(2, '0')}`),
    ];
    const started = performance.now();
    const l3fwd = new L3fwd(spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] }), prefix, ports);
    let looping = false;
    const watch = (d: Buffer) => {
      l3fwd.#tail = (l3fwd.#tail + d.toString()).slice(-4000);
      if (l3fwd.#tail.includes('entering main loop')) looping = true;
    };
    l3fwd.#child.stdout!.on('data', watch);
    l3fwd.#child.stderr!.on('data', watch);
    try {
      while (!looping) {
        if (l3fwd.#code !== undefined) throw new Error(`l3fwd exited (${l3fwd.#code}) before forwarding:\n${l3fwd.#tail}`);
        if (performance.now() - started > timeoutS * 1000) throw new Error(`l3fwd did not reach its main loop in ${timeoutS} s`);
        await sleep(20);
      }
    } catch (error) {
      await l3fwd.stop();
      throw error;
    }
    l3fwd.startS = (performance.now() - started) / 1000;
    return l3fwd;
  }

  /** Its EAL --file-prefix. */
  get prefix(): string {
    return this.#prefix;
  }

  /** Stops forwarding until resume(): the process is stopped, its CPU free. */
  pause(): void {
    this.#child.kill('SIGSTOP');
  }

  resume(): void {
    this.#child.kill('SIGCONT');
  }

  /** Per-port rates over `durationS`, after `warmupS`. */
  async measure(warmupS: number, durationS: number): Promise<L3fwdRates> {
    await sleep(warmupS * 1000);
    if (this.#code !== undefined) throw new Error(`l3fwd exited (${this.#code}):\n${this.#tail}`);
    const socket = join(ealRuntimeDir(this.#prefix), 'dpdk_telemetry.v2');
    const read = spawnSync('python3', ['-c', TELEMETRY_READER, socket, String(this.#ports), String(durationS)], { encoding: 'utf8' });
    if (read.status !== 0) throw new Error(`reading l3fwd's counters through ${socket} failed: ${read.stderr}`);
    const stats = JSON.parse(read.stdout) as { seconds: number; before: { ipackets: number; opackets: number }[]; after: { ipackets: number; opackets: number }[] };
    const per = (field: 'ipackets' | 'opackets') => stats.after.reduce((sum, a, p) => sum + a[field] - stats.before[p]![field], 0) / this.#ports / stats.seconds / 1e6;
    return { rxMpps: per('ipackets'), txMpps: per('opackets') };
  }

  /** Ends l3fwd (SIGINT: it stops its ports and exits) and removes its EAL runtime directory. */
  async stop(): Promise<void> {
    if (this.#code === undefined) {
      this.#child.kill('SIGCONT');
      this.#child.kill('SIGINT');
    }
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await this.#exited;
    clearTimeout(timer);
    rmSync(ealRuntimeDir(this.#prefix), { recursive: true, force: true });
  }
}

const HUGEPAGES = '/sys/kernel/mm/hugepages/hugepages-2048kB';

/**
 * Makes sure `pages` 2 MiB hugepages are free: the routing benches' big tables need a few
 * GiB (l3fwd's FIB mode alone takes 1 GiB with room for a million routes, Fastpath's plan for
 * a million IPv4 routes 2 GiB). As root, reserves the missing ones (and says so; they stay
 * reserved, as scripts/setup.sh's do); otherwise throws saying what to run.
 */
export function ensureHugepages(pages: number, log: (line: string) => void): void {
  const read = (f: string) => Number(readFileSync(join(HUGEPAGES, f), 'utf8'));
  const free = read('free_hugepages');
  if (free >= pages) return;
  const total = read('nr_hugepages');
  const want = total + pages - free;
  if (process.getuid?.() !== 0) {
    throw new Error(`the routing benches need ${pages} free 2 MiB hugepages (${free} are): as root, echo ${want} > ${HUGEPAGES}/nr_hugepages`);
  }
  writeFileSync(join(HUGEPAGES, 'nr_hugepages'), String(want));
  const now = read('free_hugepages');
  log(`reserved hugepages for the routing benches: ${total} → ${read('nr_hugepages')} (2 MiB), ${now} free`);
  if (now < pages) throw new Error(`only ${now} 2 MiB hugepages could be reserved free; the routing benches need ${pages}`);
}
