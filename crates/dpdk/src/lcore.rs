//! Running closures on worker lcores (`rte_eal_remote_launch`), from the main lcore.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{DpdkError, ToResult};

type LcoreJob = Box<dyn FnOnce() -> i32 + Send>;

/// Exit code an lcore reports when its closure panicked (the panic stops at the FFI edge).
pub const PANICKED: i32 = -2;

/// The calling thread's lcore id, or `None` on a thread EAL does not know.
pub fn current() -> Option<u32> {
    // SAFETY: rte_lcore_id reads a thread-local; valid on any thread.
    let id = unsafe { dpdk_sys::rte_lcore_id() };
    (id != u32::MAX).then_some(id)
}

/// The main lcore's id.
pub fn main() -> u32 {
    // SAFETY: reads EAL's configuration; only called once EAL is up.
    unsafe { dpdk_sys::rte_get_main_lcore() }
}

/// The CPU socket (NUMA node) of the calling lcore.
pub fn socket_id() -> i32 {
    // SAFETY: reads a thread-local set by EAL.
    unsafe { dpdk_sys::rte_socket_id() }.cast_signed()
}

/// Starts `job` on worker `lcore`. Call on the main lcore (through `Eal::run`).
pub fn launch(lcore: u32, job: impl FnOnce() -> i32 + Send + 'static) -> Result<(), DpdkError> {
    if current() != Some(main()) {
        return Err(DpdkError {
            context: format!("launching lcore {lcore} off the main lcore"),
            errno: libc::EPERM,
        });
    }
    let boxed: Box<LcoreJob> = Box::new(Box::new(job));
    let arg = Box::into_raw(boxed);
    // SAFETY: `trampoline` takes back ownership of `arg` exactly once, on the worker.
    let ret = unsafe { dpdk_sys::rte_eal_remote_launch(Some(trampoline), arg.cast(), lcore) };
    if ret != 0 {
        // SAFETY: the launch failed, so the worker never received `arg`; reclaim it here.
        drop(unsafe { Box::from_raw(arg) });
    }
    ret.to_result(|| format!("rte_eal_remote_launch(lcore {lcore})"))
        .map(drop)
}

/// Waits for worker `lcore` to finish and returns its closure's exit code.
/// Call on the main lcore (through `Eal::run`).
pub fn wait(lcore: u32) -> i32 {
    // SAFETY: waiting on an lcore id is valid from the main lcore; an idle lcore returns 0.
    unsafe { dpdk_sys::rte_eal_wait_lcore(lcore) }
}

unsafe extern "C" fn trampoline(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the Box leaked by `launch`, handed to this lcore once.
    let job = unsafe { Box::from_raw(arg.cast::<LcoreJob>()) };
    catch_unwind(AssertUnwindSafe(job)).unwrap_or(PANICKED)
}
