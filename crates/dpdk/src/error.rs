use std::ffi::CStr;
use std::fmt;

/// A failed DPDK call: what was attempted, and DPDK's errno with its text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DpdkError {
    /// What was being done, e.g. `rte_eth_dev_configure(port 0)`.
    pub context: String,
    /// The (positive) errno or `rte_errno` value; 0 when DPDK gave none.
    pub errno: i32,
}

impl DpdkError {
    /// An error for `context` carrying the calling thread's current `rte_errno`.
    pub fn from_rte_errno(context: impl Into<String>) -> Self {
        // SAFETY: reads the calling thread's rte_errno; valid on any thread.
        let errno = unsafe { dpdk_sys::rte_errno() };
        Self {
            context: context.into(),
            errno,
        }
    }

    /// An error for `context` from a negative-errno return value (`-EINVAL` style).
    pub fn from_return(context: impl Into<String>, ret: i32) -> Self {
        Self {
            context: context.into(),
            errno: ret.saturating_abs(),
        }
    }

    /// DPDK's text for this errno (covers DPDK's own codes above 1000 as well as libc's).
    pub fn reason(&self) -> String {
        if self.errno == 0 {
            return "unknown error".to_owned();
        }
        // SAFETY: rte_strerror returns a pointer to a static or thread-local
        // NUL-terminated string for any errno value.
        unsafe { CStr::from_ptr(dpdk_sys::rte_strerror(self.errno)) }
            .to_string_lossy()
            .into_owned()
    }
}

impl fmt::Display for DpdkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failed: {} (errno {})",
            self.context,
            self.reason(),
            self.errno
        )
    }
}

/// Turns DPDK's C-style returns into `Result`s (after capsule's `ToResult`).
pub trait ToResult {
    /// The success value.
    type Ok;
    /// `Ok` on success, or a [`DpdkError`] naming `context`.
    fn to_result(self, context: impl FnOnce() -> String) -> Result<Self::Ok, DpdkError>;
}

/// `int` returns: `>= 0` is success, negative is `-errno` (ethdev) or `-1` + `rte_errno` (EAL).
impl ToResult for i32 {
    type Ok = u32;
    fn to_result(self, context: impl FnOnce() -> String) -> Result<u32, DpdkError> {
        match self {
            ret if ret >= 0 => Ok(ret.unsigned_abs()),
            -1 => Err(DpdkError::from_rte_errno(context())),
            ret => Err(DpdkError::from_return(context(), ret)),
        }
    }
}

/// Pointer returns: null means failure with `rte_errno` set.
impl<T> ToResult for *mut T {
    type Ok = std::ptr::NonNull<T>;
    fn to_result(self, context: impl FnOnce() -> String) -> Result<Self::Ok, DpdkError> {
        std::ptr::NonNull::new(self).ok_or_else(|| DpdkError::from_rte_errno(context()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_returns_carry_their_errno() {
        let err = (-libc::EINVAL).to_result(|| "rte_eth_dev_configure(port 3)".into());
        let err = err.unwrap_err();
        assert_eq!(err.errno, libc::EINVAL);
        assert_eq!(err.reason(), "Invalid argument");
        assert_eq!(
            err.to_string(),
            "rte_eth_dev_configure(port 3) failed: Invalid argument (errno 22)"
        );
    }

    #[test]
    fn minus_one_reads_rte_errno() {
        // SAFETY: sets this test thread's own rte_errno.
        unsafe { dpdk_sys::rte_errno_set(libc::ENODEV) };
        let err = (-1).to_result(|| "rte_eal_init".into()).unwrap_err();
        assert_eq!(err.errno, libc::ENODEV);
        assert_eq!(7.to_result(|| unreachable!()), Ok(7));
    }

    #[test]
    fn dpdk_specific_errnos_have_text() {
        let err = DpdkError::from_return("x", -(dpdk_sys::E_RTE_SECONDARY.cast_signed()));
        assert!(err.reason().contains("secondary"), "{}", err.reason());
    }
}
