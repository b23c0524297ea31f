/*
 * Callable forms of DPDK's `static inline` mbuf and lcore functions (and the rte_errno TLS
 * macro), which bindgen cannot link. rte_eth_rx_burst and rte_eth_tx_burst, once per burst
 * each, are written in Rust over rte_eth_fp_ops instead (the dpdk crate's ethdev_fp.rs), so
 * that they inline into the worker's loop.
 */
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

struct rte_mbuf *fastpath_rte_pktmbuf_alloc(struct rte_mempool *mp)
{
	return rte_pktmbuf_alloc(mp);
}

int fastpath_rte_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs,
				    unsigned int count)
{
	return rte_pktmbuf_alloc_bulk(mp, mbufs, count);
}

void fastpath_rte_pktmbuf_free(struct rte_mbuf *m)
{
	rte_pktmbuf_free(m);
}

unsigned int fastpath_rte_lcore_id(void)
{
	return rte_lcore_id();
}

int fastpath_rte_errno(void)
{
	return rte_errno;
}

void fastpath_rte_errno_set(int value)
{
	rte_errno = value;
}
