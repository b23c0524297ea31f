//! Safe Rust over DPDK 22.11.
//!
//! This is the only crate that touches `dpdk-sys`. It owns the process-wide EAL lifecycle
//! ([`Eal`]), launches work on worker lcores ([`lcore`]), creates packet pools
//! ([`Mempool`]), moves packets in bursts ([`Burst`], [`RxQueue`], [`TxQueue`]) and
//! drives ethdev ports ([`Port`]),
//! looks up routes ([`Fib4`], [`Fib6`]) and classifies packets by rules ([`Acl`]). Every DPDK
//! return code becomes a [`DpdkError`].

mod acl;
mod bpf;
mod cycles;
pub mod eal;
mod error;
mod ethdev_fp;
mod fib;
pub mod lcore;
mod log;
mod mbuf;
pub mod memory;
mod mempool;
mod port;

pub use acl::{
    heap_allocated_bytes, Acl, AclField, AclKey, AclRule, FieldKind, ACL_MAX_FIELDS,
    ACL_MAX_PRIORITY,
};
pub use bpf::{pcapng_header, FilterError, PacketFilter};
pub use cycles::{tsc, tsc_hz};
pub use eal::{Eal, EalArgs, EalMemory, IovaMode};
pub use error::{DpdkError, ToResult};
pub use fib::{Fib4, Fib6};
pub use log::recent_log_lines;
pub use mbuf::{Burst, Mbuf, BURST_SIZE};
pub use mempool::Mempool;
pub use port::{Link, Port, PortConfig, PortInfo, PortStats, RxQueue, TxQueue};

/// The DPDK version string this process is linked against, e.g. `DPDK 22.11.11`.
pub fn version() -> String {
    // SAFETY: rte_version returns a pointer to a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(dpdk_sys::rte_version()) }
        .to_string_lossy()
        .into_owned()
}
