/**
 * A config for `fastpath run`: a generator feeding ring r0, forwarded to ring r1 through a
 * filter that drops the flows of source ports 1024-1039 and counts what goes to UDP port 9
 * (every generated frame does: the discard port), then counted and dropped.
 *
 *   npx fastpath run examples/configs/generator.config.ts --duration 5
 */
import { defineConfig } from '@fastpath/control';

export default defineConfig({
  ports: { r0: { ring: {} }, r1: { ring: {} } },
  lcores: { workers: [1] },
  memory: { hugepages: false },
  pipelines: [
    { name: 'make', generator: { packetSize: 64, flows: 64 }, output: 'r0' },
    {
      name: 'filter',
      input: 'r0',
      stages: [
        { kind: 'match', name: 'drop-low-ports', match: { proto: 'udp', srcPort: [1024, 1039] }, action: 'drop' },
        { kind: 'match', name: 'to-port-9', match: { dstPort: 9 }, action: 'count' },
      ],
      output: 'r1',
    },
    { name: 'arrive', input: 'r1', stages: ['drop'] },
  ],
});
