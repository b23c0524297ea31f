/*
 * Callable forms of DPDK's `static inline` hot-path functions (and the rte_errno TLS
 * macro), which bindgen cannot link. Each is one call per burst, not per packet; the
 * rx/tx bodies are DPDK's own, so the RX/TX callback hooks this build enables still run.
 */
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

uint16_t fastpath_rte_eth_rx_burst(uint16_t port_id, uint16_t queue_id,
				   struct rte_mbuf **rx_pkts, uint16_t nb_pkts)
{
	return rte_eth_rx_burst(port_id, queue_id, rx_pkts, nb_pkts);
}

uint16_t fastpath_rte_eth_tx_burst(uint16_t port_id, uint16_t queue_id,
				   struct rte_mbuf **tx_pkts, uint16_t nb_pkts)
{
	return rte_eth_tx_burst(port_id, queue_id, tx_pkts, nb_pkts);
}

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
