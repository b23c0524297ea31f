//! The Environment Abstraction Layer: argv from a typed struct, init on a dedicated thread.
//!
//! `rte_eal_init` pins the thread that calls it to the main lcore, so it never runs on the
//! caller's thread (which may be Node's). The dedicated thread becomes the main lcore and
//! stays alive as the control thread: everything DPDK wants done "on the main lcore"
//! (launching workers, waiting for them, cleanup) is sent to it with [`Eal::run`].

use std::ffi::CString;
use std::fmt;
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};
use std::thread;

use crate::error::DpdkError;
use crate::log;

mod args;
pub use args::{EalArgs, EalMemory};

/// How DPDK addresses memory for devices (the IOVA mode EAL selected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IovaMode {
    /// Physical addresses: needs root and hugepages; what PA-only drivers (`igb_uio`) need.
    Pa,
    /// Virtual addresses: works unprivileged, with `--no-huge`, and through an IOMMU.
    Va,
    /// Don't care: EAL has not decided (only before init).
    Dc,
}

impl IovaMode {
    /// `"PA"`, `"VA"` or `"DC"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pa => "PA",
            Self::Va => "VA",
            Self::Dc => "DC",
        }
    }

    fn current() -> Self {
        // SAFETY: rte_eal_iova_mode only reads EAL's configuration, set once by init.
        match unsafe { dpdk_sys::rte_eal_iova_mode() } {
            dpdk_sys::RTE_IOVA_PA => Self::Pa,
            dpdk_sys::RTE_IOVA_VA => Self::Va,
            _ => Self::Dc,
        }
    }
}

impl fmt::Display for IovaMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the one EAL this process may have stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lifecycle {
    Unused,
    Running,
    /// Init failed or cleanup ran: DPDK cannot be initialised again in this process.
    Spent,
}

static LIFECYCLE: Mutex<Lifecycle> = Mutex::new(Lifecycle::Unused);

/// Whether EAL is up in this process (memory from its heap may still be freed).
pub(crate) fn running() -> bool {
    *LIFECYCLE.lock().unwrap_or_else(PoisonError::into_inner) == Lifecycle::Running
}

fn set_lifecycle(to: Lifecycle) {
    *LIFECYCLE.lock().unwrap_or_else(PoisonError::into_inner) = to;
}

type Job = Box<dyn FnOnce() + Send>;

/// A running EAL. At most one exists per process, ever; dropping it cleans EAL up.
pub struct Eal {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<thread::JoinHandle<()>>,
    iova_mode: IovaMode,
    main_lcore: u32,
    argv: Vec<String>,
    file_prefix: String,
    secondary_processes: bool,
}

impl fmt::Debug for Eal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Eal")
            .field("iova_mode", &self.iova_mode)
            .field("main_lcore", &self.main_lcore)
            .field("argv", &self.argv)
            .finish_non_exhaustive()
    }
}

/// Why [`Eal::init`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EalInitError {
    /// This process already ran an EAL (DPDK allows one init per process).
    #[error("the DPDK EAL has already been initialised in this process and cannot start again")]
    AlreadyUsed,
    /// `rte_eal_init` returned an error; `log` holds what EAL said just before.
    #[error("{error}")]
    Failed {
        /// The errno-carrying error.
        error: DpdkError,
        /// EAL's last log lines, oldest first.
        log: Vec<String>,
    },
}

impl Eal {
    /// Starts EAL with `args` on a new thread that becomes the main lcore. Blocks until
    /// init has finished. Works once per process.
    pub fn init(args: &EalArgs) -> Result<Self, EalInitError> {
        {
            let mut lifecycle = LIFECYCLE.lock().unwrap_or_else(PoisonError::into_inner);
            if *lifecycle != Lifecycle::Unused {
                return Err(EalInitError::AlreadyUsed);
            }
            // Claimed now so that two concurrent inits cannot both proceed.
            *lifecycle = Lifecycle::Running;
        }
        let argv = args.to_argv();
        let echo = args.log_to_stderr;
        let secondaries = args.secondary_processes;
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<IovaMode, EalInitError>>();
        let thread_argv = argv.clone();
        let prefix = args.file_prefix.clone();
        let spawned = thread::Builder::new()
            .name("fastpath-eal".into())
            .spawn(move || {
                let result = init_on_this_thread(&thread_argv, echo, secondaries);
                if result.is_err() {
                    remove_runtime_dir(&runtime_dir(), &prefix);
                }
                let ok = result.is_ok();
                let _ = ready_tx.send(result);
                if ok {
                    // The control loop: run what the owner sends until it hangs up.
                    while let Ok(job) = jobs_rx.recv() {
                        // A panicking job must not end the control thread: every later `run`
                        // (cleanup included) needs it. Its caller sees the dropped reply.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                }
            });
        let thread = match spawned {
            Ok(thread) => thread,
            Err(e) => {
                set_lifecycle(Lifecycle::Spent);
                let error = DpdkError {
                    context: format!("spawning the EAL thread ({e})"),
                    errno: e.raw_os_error().unwrap_or(libc::EAGAIN),
                };
                return Err(EalInitError::Failed {
                    error,
                    log: Vec::new(),
                });
            }
        };
        let outcome = ready_rx.recv().unwrap_or_else(|_| {
            Err(EalInitError::Failed {
                error: DpdkError {
                    context: "the EAL thread ended during init".into(),
                    errno: 0,
                },
                log: log::recent_log_lines(),
            })
        });
        match outcome {
            Ok(iova_mode) => {
                let eal = Self {
                    jobs: Some(jobs_tx),
                    thread: Some(thread),
                    iova_mode,
                    main_lcore: args.main_lcore,
                    argv,
                    file_prefix: args.file_prefix.clone(),
                    secondary_processes: secondaries,
                };
                Ok(eal)
            }
            Err(e) => {
                let _ = thread.join();
                set_lifecycle(Lifecycle::Spent);
                Err(e)
            }
        }
    }

    /// The IOVA mode EAL selected.
    pub fn iova_mode(&self) -> IovaMode {
        self.iova_mode
    }

    /// The main lcore (the control thread's lcore).
    pub fn main_lcore(&self) -> u32 {
        self.main_lcore
    }

    /// The argv EAL was started with.
    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    /// Runs `job` on the main lcore (the EAL thread) and returns its result.
    pub fn run<R: Send + 'static>(&self, job: impl FnOnce() -> R + Send + 'static) -> R {
        let (tx, rx) = mpsc::sync_channel(1);
        let wrapped: Job = Box::new(move || {
            let _ = tx.send(job());
        });
        self.jobs
            .as_ref()
            .expect("the job channel lives until drop")
            .send(wrapped)
            .expect("the EAL thread runs until Eal is dropped");
        rx.recv()
            .unwrap_or_else(|_| panic!("a job on the EAL thread panicked"))
    }

    /// Releases EAL's resources (`rte_eal_cleanup`) and ends the control thread.
    /// Stop and close every port and wait for every lcore first.
    pub fn cleanup(mut self) -> Result<(), DpdkError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), DpdkError> {
        let Some(jobs) = self.jobs.take() else {
            return Ok(());
        };
        let (tx, rx) = mpsc::sync_channel(1);
        let prefix = self.file_prefix.clone();
        let secondaries = self.secondary_processes;
        let sent = jobs.send(Box::new(move || {
            let runtime_dir = runtime_dir();
            if secondaries {
                // SAFETY: pdump was initialised on this thread at init; the ports are closed.
                // Its failure (the multi-process action already gone) leaves nothing to undo.
                let _ = unsafe { dpdk_sys::rte_pdump_uninit() };
            }
            // SAFETY: runs on the main lcore after the owner stopped all DPDK users.
            let ret = unsafe { dpdk_sys::rte_eal_cleanup() };
            remove_runtime_dir(&runtime_dir, &prefix);
            let _ = tx.send(ret);
        }));
        drop(jobs);
        let ret = if sent.is_ok() {
            rx.recv().unwrap_or(0)
        } else {
            0
        };
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        set_lifecycle(Lifecycle::Spent);
        crate::error::ToResult::to_result(ret, || "rte_eal_cleanup".into()).map(drop)
    }
}

impl Drop for Eal {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// EAL's runtime directory (`/var/run/dpdk/<prefix>` for root), or empty before EAL made it.
fn runtime_dir() -> std::path::PathBuf {
    // SAFETY: returns a pointer to EAL's static buffer (empty until set); copied at once.
    let dir = unsafe { std::ffi::CStr::from_ptr(dpdk_sys::rte_eal_get_runtime_dir()) };
    std::path::PathBuf::from(dir.to_string_lossy().into_owned())
}

/// EAL leaves its runtime directory (config, sockets) behind after cleanup or a failed
/// init. Removes it, but only if it is really this instance's (named by `prefix`).
fn remove_runtime_dir(dir: &std::path::Path, prefix: &str) {
    if !prefix.is_empty() && dir.file_name().is_some_and(|name| name == prefix) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn init_on_this_thread(
    argv: &[String],
    echo: bool,
    secondaries: bool,
) -> Result<IovaMode, EalInitError> {
    let failed = |error: DpdkError| EalInitError::Failed {
        error,
        log: log::recent_log_lines(),
    };
    log::capture(echo).map_err(failed)?;
    let owned: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(a.as_str()))
        .collect::<Result<_, _>>()
        .map_err(|_| {
            failed(DpdkError {
                context: "EAL argument with a NUL byte".into(),
                errno: libc::EINVAL,
            })
        })?;
    let mut ptrs: Vec<*mut libc::c_char> = owned.iter().map(|c| c.as_ptr().cast_mut()).collect();
    ptrs.push(std::ptr::null_mut());
    let argc = i32::try_from(owned.len()).expect("argv is short");
    // SAFETY: argv points at NUL-terminated strings that outlive the call (EAL copies what it
    // keeps); this is the only rte_eal_init of the process, guarded by LIFECYCLE.
    let ret = unsafe { dpdk_sys::rte_eal_init(argc, ptrs.as_mut_ptr()) };
    if ret < 0 {
        return Err(failed(DpdkError::from_rte_errno("rte_eal_init")));
    }
    if secondaries {
        // SAFETY: EAL is initialised on this thread (a primary process). pdump registers a
        // multi-process action and a stats memzone; it installs no callback until a
        // secondary (dpdk-dumpcap) asks for a capture.
        let ret = unsafe { dpdk_sys::rte_pdump_init() };
        if ret < 0 {
            let error = DpdkError::from_rte_errno("rte_pdump_init");
            // SAFETY: nothing else runs DPDK yet; EAL cannot start again in this process anyway.
            unsafe { dpdk_sys::rte_eal_cleanup() };
            return Err(failed(error));
        }
    }
    Ok(IovaMode::current())
}
