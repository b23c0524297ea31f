//! The platform as DPDK sees it: the doctor's report and devbind, on this machine or on a
//! fixture tree.

use engine::{EngineError, ErrorCode};
use napi::Result;
use napi_derive::napi;

use crate::error::guarded;

/// The filesystem root to probe: `/` by default; a given one must hold a `sys/` directory
/// (a mistyped fixture path would otherwise read as a machine with nothing at all).
fn probe_root(root: Option<&str>) -> std::result::Result<std::path::PathBuf, EngineError> {
    let root = std::path::PathBuf::from(root.unwrap_or("/"));
    if root.join("sys").is_dir() {
        Ok(root)
    } else {
        Err(EngineError::new(
            ErrorCode::Probe,
            format!("{} has no sys/ directory: give the root of a machine or of a fixture tree (sys/, proc/, dev/)", root.display()),
        ))
    }
}

/// The doctor's report for the machine under `root` (default `/`): `{ json, text }`.
#[napi(object)]
#[derive(Debug)]
pub struct DoctorReport {
    /// The report as JSON (see `fastpath doctor --json`).
    pub json: String,
    /// The same as readable lines, each ✓ or ✗ with what to do.
    pub text: String,
}

/// How EAL would be started, for the doctor's prediction.
#[napi(object)]
#[derive(Debug, Default)]
pub struct DoctorArgs {
    /// `--no-huge`.
    pub no_huge: Option<bool>,
    /// The config leaves hugepages to the engine: `--no-huge` when none is free.
    pub huge_fallback: Option<bool>,
    /// PCI devices EAL would be given (`-a`); none means `--no-pci`.
    pub devices: Option<Vec<String>>,
    /// `"pa"` or `"va"` to predict for `--iova-mode`.
    pub iova_mode: Option<String>,
}

/// Probes the machine (or the fixture tree at `root`) and reports what DPDK can use, and
/// which IOVA mode EAL will pick for the devices in `args`.
#[napi]
#[allow(clippy::needless_pass_by_value)] // napi hands JS arguments over by value
pub fn doctor(root: Option<String>, args: Option<DoctorArgs>) -> Result<DoctorReport> {
    guarded("doctor", || {
        let root = probe_root(root.as_deref())?;
        let args = args.unwrap_or_default();
        let iova_mode_forced = args
            .iova_mode
            .as_deref()
            .map(|m| m.to_ascii_lowercase().parse::<probe::IovaMode>())
            .transpose()
            .map_err(|e| EngineError::new(ErrorCode::Probe, e))?;
        let opts = probe::DoctorOptions {
            no_huge: args.no_huge.unwrap_or(false),
            huge_fallback: args.huge_fallback.unwrap_or(false),
            devices: args.devices.unwrap_or_default(),
            iova_mode_forced,
        };
        let report = probe::doctor(&root, &opts).map_err(|e| {
            EngineError::new(
                ErrorCode::Probe,
                format!("cannot probe {}: {e}", root.display()),
            )
        })?;
        Ok(DoctorReport {
            json: report.to_json(),
            text: report.to_text(),
        })
    })
}

/// One file devbind writes (or would write).
#[napi(object)]
#[derive(Debug)]
pub struct DevbindWrite {
    pub path: String,
    pub value: String,
}

/// `devbind`: `op` is `"status"`, `"bind"` (to `driver`) or `"unbind"`, on `devices` under
/// `root` (default `/`). Returns the writes it planned, performed only when `apply` is set;
/// the status as JSON for `"status"`. A refusal rejects with `ERR_DEVBIND` saying why.
#[napi(object)]
#[derive(Debug)]
pub struct DevbindResult {
    pub writes: Vec<DevbindWrite>,
    /// Every network device with its driver (JSON), for `"status"`.
    pub status: Option<String>,
}

/// Plans (and with `apply`, performs) a devbind operation; see [`DevbindResult`].
#[napi]
#[allow(clippy::needless_pass_by_value)] // napi hands JS arguments over by value
pub fn devbind(
    root: Option<String>,
    op: String,
    driver: Option<String>,
    devices: Vec<String>,
    apply: bool,
) -> Result<DevbindResult> {
    guarded("devbind", || {
        let root = probe_root(root.as_deref())?;
        let refuse = |message: String| EngineError::new(ErrorCode::Devbind, message);
        let machine = probe::Probe::read(&root).map_err(|e| {
            EngineError::new(
                ErrorCode::Probe,
                format!("cannot probe {}: {e}", root.display()),
            )
        })?;
        let writes = match op.as_str() {
            "status" => {
                let status = serde_json::to_string(&probe::status(&machine))
                    .map_err(|e| refuse(e.to_string()))?;
                return Ok(DevbindResult {
                    writes: Vec::new(),
                    status: Some(status),
                });
            }
            "bind" => {
                let driver = driver
                    .as_deref()
                    .ok_or_else(|| refuse("bind needs a driver, e.g. vfio-pci".into()))?;
                probe::plan_bind(&root, driver, &devices, &machine)
            }
            "unbind" => probe::plan_unbind(&root, &devices, &machine),
            other => {
                return Err(refuse(format!(
                    "unknown devbind operation {other:?}: use status, bind or unbind"
                )))
            }
        }
        .map_err(|r| refuse(r.to_string()))?;
        if apply {
            probe::apply(&root, &writes).map_err(|e| {
                refuse(format!(
                    "could not write the binding: {e}; nothing after the failed write was done"
                ))
            })?;
        }
        Ok(DevbindResult {
            writes: writes
                .into_iter()
                .map(|w| DevbindWrite {
                    path: w.path.display().to_string(),
                    value: w.value,
                })
                .collect(),
            status: None,
        })
    })
}

/// The runtime directory EAL keeps for file prefix `prefix` (`/var/run/dpdk/<prefix>` as
/// root): where an engine's, or another DPDK program's, sockets and config live.
#[napi]
#[allow(clippy::needless_pass_by_value)] // napi hands JS arguments over by value
pub fn eal_runtime_dir(prefix: String) -> String {
    engine::eal_runtime_dir(&prefix).display().to_string()
}

/// Where engine `name`'s control socket is (in its EAL runtime directory).
#[napi]
#[allow(clippy::needless_pass_by_value)] // napi hands JS arguments over by value
pub fn control_socket_path(name: String) -> String {
    engine::control::socket::path(&name).display().to_string()
}
