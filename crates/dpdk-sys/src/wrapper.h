/* The DPDK API surface Fastpath binds. rte_config.h comes first through the .pc's -include. */
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_launch.h>
#include <rte_log.h>
#include <rte_version.h>
#include <rte_dev.h>
#include <rte_memory.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ethdev.h>
#include <rte_fib.h>
#include <rte_fib6.h>
#include <rte_acl.h>
/* Live capture: libpcap compiles tcpdump filters, rte_bpf runs them, rte_pcapng writes the
 * capture file's section and interface blocks. pcap.h first: rte_bpf_convert takes its
 * struct bpf_program. */
#include <pcap/pcap.h>
#include <rte_bpf.h>
#include <rte_pcapng.h>
/* Serving dpdk-dumpcap (a secondary process) when the engine is configured for it. */
#include <rte_pdump.h>
