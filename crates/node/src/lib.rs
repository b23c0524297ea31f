//! The native binding `@fastpath/control` loads. Thin glue: decode nothing, decide nothing.
//! One file per area: [`engine`] (start, apply, stop), [`config`] (the config rules, which
//! start nothing), [`info`] (what a started engine
//! reports about itself: a napi type and its `From` impl side by side), [`stats`] (the
//! stats segments, mapped for JavaScript), [`platform`] (doctor, devbind), [`capture`] (a live
//! capture's ring, read as pcapng).
//!
//! Counters do not pass through here: JavaScript reads them from the stats segment itself.
//! Errors reach JavaScript as `Error`s whose message starts with the stable code in
//! brackets (`[ERR_EAL_INIT] ...`); `@fastpath/control` turns that into `error.code`.
//! Nothing here may panic across the boundary: engine calls run under `catch_unwind`.

pub mod capture;
pub mod config;
pub mod engine;
mod error;
pub mod info;
pub mod platform;
pub mod stats;

use napi_derive::napi;

/// The stable error codes, in the order the engine defines them.
#[napi]
pub fn error_codes() -> Vec<String> {
    ::engine::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect()
}

/// The config schema version this binding reads.
#[napi]
pub fn schema_version() -> u32 {
    ::engine::SCHEMA_VERSION
}
