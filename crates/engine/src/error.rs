use std::fmt;

/// Stable error codes. They reach JavaScript as `error.code`; never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The config is malformed or describes something impossible.
    Config,
    /// `rte_eal_init` failed.
    EalInit,
    /// EAL already ran in this process; it cannot start twice.
    EalAlready,
    /// Hugepages were required but not enough are free.
    NoHugepages,
    /// A port could not be found, configured or started.
    Port,
    /// The packet buffer pool could not be created.
    Mempool,
    /// A worker lcore could not be launched or failed.
    Lcore,
    /// The engine was already stopped.
    Stopped,
    /// A live change needs what only a restart can do (queue counts, ports, lcores).
    NeedsRestart,
    /// A stats segment is missing, stale, corrupt or of another layout version.
    Stats,
    /// The platform probe could not read what it needs (sysfs, procfs).
    Probe,
    /// `devbind` refused a device or could not write the binding.
    Devbind,
    /// This user may not do what the config asks (hugepages it cannot write, a directory it
    /// cannot create the stats segment in): not a bug, a permission to grant or a setting.
    Permission,
    /// A route change was refused (a bad prefix or next hop, no such table, a table full, a
    /// route that is not there): nothing of it was applied.
    Route,
    /// A control request could not be served: no engine of that name answers (not running, or
    /// its control socket is not this user's), or the request is not one this engine takes.
    Control,
    /// A bug: something that should not happen did.
    Internal,
}

impl ErrorCode {
    /// The code's stable string, e.g. `ERR_EAL_INIT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Config => "ERR_CONFIG",
            Self::EalInit => "ERR_EAL_INIT",
            Self::EalAlready => "ERR_EAL_ALREADY",
            Self::NoHugepages => "ERR_NO_HUGEPAGES",
            Self::Port => "ERR_PORT",
            Self::Mempool => "ERR_MEMPOOL",
            Self::Lcore => "ERR_LCORE",
            Self::Stopped => "ERR_STOPPED",
            Self::NeedsRestart => "ERR_NEEDS_RESTART",
            Self::Stats => "ERR_STATS",
            Self::Probe => "ERR_PROBE",
            Self::Devbind => "ERR_DEVBIND",
            Self::Permission => "ERR_PERMISSION",
            Self::Route => "ERR_ROUTE",
            Self::Control => "ERR_CONTROL",
            Self::Internal => "ERR_INTERNAL",
        }
    }

    /// Every code, for documentation and for the TypeScript constants' test.
    pub const ALL: [Self; 16] = [
        Self::Config,
        Self::EalInit,
        Self::EalAlready,
        Self::NoHugepages,
        Self::Port,
        Self::Mempool,
        Self::Lcore,
        Self::Stopped,
        Self::NeedsRestart,
        Self::Stats,
        Self::Probe,
        Self::Devbind,
        Self::Permission,
        Self::Route,
        Self::Control,
        Self::Internal,
    ];
}

/// An engine failure: a stable code and a message that says what went wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineError {
    /// The stable code.
    pub code: ErrorCode,
    /// One or two sentences: what is wrong, then what to do.
    pub message: String,
}

impl EngineError {
    /// A new error.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A config error at `path` (e.g. `ports[1].vdev`).
    pub fn config(path: &str, reason: impl fmt::Display) -> Self {
        if path.is_empty() {
            Self::new(ErrorCode::Config, reason.to_string())
        } else {
            Self::new(ErrorCode::Config, format!("{path}: {reason}"))
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for EngineError {}
