//! DPDK's log, captured.
//!
//! Before EAL starts, its log stream is pointed at a `fopencookie` stream whose writer keeps
//! the most recent lines (so an init failure can say *why* in one error message) and, when
//! asked, echoes every line to stderr. Stdout stays free for the application's own output.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Mutex, PoisonError};

use crate::error::{DpdkError, ToResult};

const KEPT_LINES: usize = 64;

struct Sink {
    echo: bool,
    partial: String,
    lines: VecDeque<String>,
}

static SINK: Mutex<Sink> = Mutex::new(Sink {
    echo: true,
    partial: String::new(),
    lines: VecDeque::new(),
});

fn with_sink<R>(f: impl FnOnce(&mut Sink) -> R) -> R {
    f(&mut SINK.lock().unwrap_or_else(PoisonError::into_inner))
}

/// The last lines DPDK logged (at most 64), oldest first.
pub fn recent_log_lines() -> Vec<String> {
    with_sink(|sink| sink.lines.iter().cloned().collect())
}

/// Sets the log stream before `rte_eal_init`. `echo` copies each line to stderr as well.
pub(crate) fn capture(echo: bool) -> Result<(), DpdkError> {
    with_sink(|sink| {
        sink.echo = echo;
        sink.lines.clear();
        sink.partial.clear();
    });
    let io = CookieIoFunctions {
        read: None,
        write: Some(write_log),
        seek: None,
        close: None,
    };
    // SAFETY: fopencookie copies `io`; the cookie is unused (null) since the sink is global.
    // The stream lives for the rest of the process, as DPDK keeps using it.
    let stream = unsafe { fopencookie(std::ptr::null_mut(), c"w".as_ptr(), io) };
    if stream.is_null() {
        return Err(DpdkError {
            context: "fopencookie(log stream)".into(),
            errno: libc::ENOMEM,
        });
    }
    // SAFETY: line-buffer the stream so each log line is delivered as it is written.
    unsafe { libc::setvbuf(stream, std::ptr::null_mut(), libc::_IOLBF, 0) };
    // SAFETY: `stream` is a valid FILE*; DPDK's FILE is the same libc type under another name.
    unsafe { dpdk_sys::rte_openlog_stream(stream.cast()) }
        .to_result(|| "rte_openlog_stream".into())
        .map(drop)
}

type CookieWrite = extern "C" fn(*mut libc::c_void, *const libc::c_char, usize) -> isize;

/// glibc's `cookie_io_functions_t` (the `libc` crate does not carry it).
#[repr(C)]
struct CookieIoFunctions {
    read: Option<extern "C" fn()>,
    write: Option<CookieWrite>,
    seek: Option<extern "C" fn()>,
    close: Option<extern "C" fn()>,
}

extern "C" {
    fn fopencookie(
        cookie: *mut libc::c_void,
        mode: *const libc::c_char,
        io: CookieIoFunctions,
    ) -> *mut libc::FILE;
}

extern "C" fn write_log(
    _cookie: *mut libc::c_void,
    buf: *const libc::c_char,
    size: usize,
) -> isize {
    if buf.is_null() || size == 0 {
        return 0;
    }
    // SAFETY: stdio hands us `size` readable bytes at `buf` for the duration of the call.
    let bytes = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), size) };
    // Never unwind into C: a poisoned lock is recovered, and nothing else here can panic.
    with_sink(|sink| {
        if sink.echo {
            let _ = std::io::stderr().write_all(bytes);
        }
        sink.partial.push_str(&String::from_utf8_lossy(bytes));
        while let Some(end) = sink.partial.find('\n') {
            let line: String = sink.partial.drain(..=end).collect();
            if sink.lines.len() == KEPT_LINES {
                sink.lines.pop_front();
            }
            sink.lines.push_back(line.trim_end().to_owned());
        }
    });
    size.cast_signed()
}
