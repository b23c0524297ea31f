//! Packet filters in tcpdump's syntax, run on mbufs: libpcap compiles the expression to
//! classic BPF (`pcap_compile`, once), `rte_bpf` converts it to eBPF and loads it, JIT-compiled
//! to native code where DPDK has a JIT for the CPU (x86-64 and arm64), else interpreted.

use std::ffi::{CStr, CString};
use std::fmt;

use crate::error::DpdkError;
use crate::mbuf::Mbuf;

/// Why a filter could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// libpcap refused the expression; its own words.
    #[error("{0}")]
    Syntax(String),
    /// `rte_bpf` could not convert or load the compiled program.
    #[error(transparent)]
    Dpdk(#[from] DpdkError),
}

/// A loaded filter, shared by every worker that runs it (running it only reads it).
pub struct PacketFilter {
    bpf: std::ptr::NonNull<dpdk_sys::rte_bpf>,
    jit: Option<unsafe extern "C" fn(*mut std::ffi::c_void) -> u64>,
    expression: String,
}

// SAFETY: a loaded rte_bpf is immutable; rte_bpf_exec and its JIT code only read it, so any
// number of threads may run it at once. It is destroyed once, on drop, by its owner.
unsafe impl Send for PacketFilter {}
// SAFETY: as above.
unsafe impl Sync for PacketFilter {}

impl fmt::Debug for PacketFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacketFilter")
            .field("expression", &self.expression)
            .field("jit", &self.jit.is_some())
            .finish_non_exhaustive()
    }
}

/// Closes a `pcap_t` on every path.
struct DeadPcap(*mut dpdk_sys::pcap_t);

impl Drop for DeadPcap {
    fn drop(&mut self) {
        // SAFETY: a handle pcap_open_dead returned, closed once.
        unsafe { dpdk_sys::pcap_close(self.0) };
    }
}

impl PacketFilter {
    /// Compiles `expression` (tcpdump syntax) for Ethernet frames of at most `snaplen` bytes
    /// and loads it. Needs EAL (`rte_bpf_convert` allocates from DPDK's heap).
    pub fn compile(expression: &str, snaplen: u32) -> Result<Self, FilterError> {
        let text = CString::new(expression)
            .map_err(|_| FilterError::Syntax("the filter has a NUL byte".to_owned()))?;
        let snaplen = i32::try_from(snaplen).unwrap_or(i32::MAX);
        // SAFETY: plain constructor; null only when out of memory.
        let pcap = unsafe { dpdk_sys::pcap_open_dead(dpdk_sys::DLT_EN10MB.cast_signed(), snaplen) };
        if pcap.is_null() {
            return Err(DpdkError::from_return("pcap_open_dead", -libc::ENOMEM).into());
        }
        let pcap = DeadPcap(pcap);
        let mut program = dpdk_sys::bpf_program::default();
        // SAFETY: a live pcap_t, a NUL-terminated expression and an out-parameter.
        let rc = unsafe {
            dpdk_sys::pcap_compile(
                pcap.0,
                &mut program,
                text.as_ptr(),
                1,
                dpdk_sys::PCAP_NETMASK_UNKNOWN,
            )
        };
        if rc != 0 {
            // SAFETY: pcap_geterr returns the handle's NUL-terminated error buffer.
            let why = unsafe { CStr::from_ptr(dpdk_sys::pcap_geterr(pcap.0)) }
                .to_string_lossy()
                .into_owned();
            return Err(FilterError::Syntax(why));
        }
        // SAFETY: `program` was filled by pcap_compile.
        let prm = unsafe { dpdk_sys::rte_bpf_convert(&program) };
        // SAFETY: compiled above, freed once, not used after.
        unsafe { dpdk_sys::pcap_freecode(&mut program) };
        if prm.is_null() {
            return Err(DpdkError::from_rte_errno("rte_bpf_convert").into());
        }
        // SAFETY: `prm` is the converted program's parameters (its mbuf argument included).
        let bpf = unsafe { dpdk_sys::rte_bpf_load(prm) };
        // SAFETY: rte_bpf_convert allocated `prm` (and its instructions, in one block) from
        // DPDK's heap; rte_bpf_load copied what it keeps.
        unsafe { dpdk_sys::rte_free(prm.cast()) };
        let bpf =
            std::ptr::NonNull::new(bpf).ok_or_else(|| DpdkError::from_rte_errno("rte_bpf_load"))?;
        let mut jit = dpdk_sys::rte_bpf_jit::default();
        // SAFETY: a loaded program and an out-parameter.
        let jitted = unsafe { dpdk_sys::rte_bpf_get_jit(bpf.as_ptr(), &mut jit) } == 0;
        Ok(Self {
            bpf,
            jit: if jitted { jit.func } else { None },
            expression: expression.to_owned(),
        })
    }

    /// Whether `m` matches.
    #[inline]
    pub fn matches(&self, m: &Mbuf) -> bool {
        let ctx = m.raw().cast::<std::ffi::c_void>();
        // SAFETY: the program was converted for an mbuf argument, and `m` is a live mbuf;
        // it reads the packet through rte_pktmbuf_read, never past its length.
        let rc = unsafe {
            match self.jit {
                Some(run) => run(ctx),
                None => dpdk_sys::rte_bpf_exec(self.bpf.as_ptr(), ctx),
            }
        };
        rc != 0
    }

    /// Whether it runs as native code.
    pub fn is_jit(&self) -> bool {
        self.jit.is_some()
    }

    /// The expression it was compiled from.
    pub fn expression(&self) -> &str {
        &self.expression
    }
}

impl Drop for PacketFilter {
    fn drop(&mut self) {
        // SAFETY: loaded by rte_bpf_load, destroyed once; no worker runs it any more (the
        // owner waits for them before it drops it).
        unsafe { dpdk_sys::rte_bpf_destroy(self.bpf.as_ptr()) };
    }
}

/// The start of a pcapng file as DPDK's `librte_pcapng` writes it for this process's ports:
/// the section header block (this OS, `appname`, `comment`) and an interface block per
/// ethdev port, in port id order (its name, MAC, link speed, nanosecond timestamps). Needs
/// EAL and the ports configured.
pub fn pcapng_header(appname: &str, comment: &str) -> Result<Vec<u8>, DpdkError> {
    use std::io::{Read, Seek, SeekFrom};
    use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};

    let failed = |what: &str| {
        DpdkError::from_return(
            what,
            -std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    };
    let (app, note) = (
        CString::new(appname)
            .map_err(|_| DpdkError::from_return("pcapng appname", -libc::EINVAL))?,
        CString::new(comment.replace('\0', " "))
            .map_err(|_| DpdkError::from_return("pcapng comment", -libc::EINVAL))?,
    );
    // SAFETY: memfd_create with a NUL-terminated name; -1 on failure.
    let fd = unsafe { libc::memfd_create(c"fastpath-pcapng".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(failed("memfd_create"));
    }
    // SAFETY: a descriptor we just opened and own.
    let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let writer = file.try_clone().map_err(|_| failed("dup"))?.into_raw_fd();
    // SAFETY: `writer` is ours to give: rte_pcapng_close closes it. Null strings let DPDK
    // fill in the OS and hardware.
    let handle = unsafe {
        dpdk_sys::rte_pcapng_fdopen(
            writer,
            std::ptr::null(),
            std::ptr::null(),
            app.as_ptr(),
            note.as_ptr(),
        )
    };
    if handle.is_null() {
        // SAFETY: not taken by DPDK on failure.
        unsafe { libc::close(writer) };
        return Err(DpdkError::from_rte_errno("rte_pcapng_fdopen"));
    }
    // SAFETY: a handle fdopen returned, closed once (this closes `writer`).
    unsafe { dpdk_sys::rte_pcapng_close(handle) };
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(|_| failed("reading the pcapng header"))?;
    Ok(bytes)
}
