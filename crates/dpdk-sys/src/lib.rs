//! Raw FFI bindings to DPDK 22.11. No logic lives here: the safe layer is the `dpdk` crate.
//!
//! Everything bindgen could bind comes from `pkg-config libdpdk`. DPDK's mbuf and lcore
//! helpers are `static inline` and `rte_errno` is a thread-local macro, so their callable
//! forms come from a small C shim (`src/inline.c`) and are declared below under DPDK's own
//! names. (The rx/tx bursts, also inline, are written in Rust over `rte_eth_fp_ops` by the
//! `dpdk` crate instead: they run once per burst in the worker's loop.)

#![allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    improper_ctypes,
    clippy::all,
    clippy::pedantic,
    clippy::undocumented_unsafe_blocks,
    missing_debug_implementations,
    unsafe_op_in_unsafe_fn
)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));

extern "C" {
    /// `rte_pktmbuf_alloc`: one mbuf from `mp`, reset, or null when the pool is empty.
    #[link_name = "fastpath_rte_pktmbuf_alloc"]
    pub fn rte_pktmbuf_alloc(mp: *mut rte_mempool) -> *mut rte_mbuf;

    /// `rte_pktmbuf_alloc_bulk`: `count` reset mbufs, or none (returns non-zero).
    #[link_name = "fastpath_rte_pktmbuf_alloc_bulk"]
    pub fn rte_pktmbuf_alloc_bulk(
        mp: *mut rte_mempool,
        mbufs: *mut *mut rte_mbuf,
        count: ::std::os::raw::c_uint,
    ) -> ::std::os::raw::c_int;

    /// `rte_pktmbuf_free`: free an mbuf chain (null is allowed).
    #[link_name = "fastpath_rte_pktmbuf_free"]
    pub fn rte_pktmbuf_free(m: *mut rte_mbuf);

    /// `rte_lcore_id`: this thread's lcore id, or `LCORE_ID_ANY` on a non-EAL thread.
    #[link_name = "fastpath_rte_lcore_id"]
    pub fn rte_lcore_id() -> ::std::os::raw::c_uint;

    /// `rte_errno`: the calling thread's DPDK error number.
    #[link_name = "fastpath_rte_errno"]
    pub fn rte_errno() -> ::std::os::raw::c_int;

    /// Sets the calling thread's `rte_errno`.
    #[link_name = "fastpath_rte_errno_set"]
    pub fn rte_errno_set(value: ::std::os::raw::c_int);
}
