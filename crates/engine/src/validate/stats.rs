//! Stats: the group the segment is given to, by name or id. A name must be a group of this
//! machine, read from its group database (files, LDAP, ... as NSS is set up): the start
//! gives the segment to that group before EAL and refuses a name it cannot find, so
//! `validate` refuses it first. A gid is taken as it is (no group need have it).

use super::Report;
use crate::config::StatsConfig;
use crate::net::quote;

pub(super) fn check(report: &mut Report, stats: &StatsConfig) {
    let Some(group) = &stats.group else {
        return;
    };
    // A name as groupadd takes it, or a gid (a number in the config arrives as its digits).
    let name = group
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && group
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    let gid = !group.is_empty()
        && group.bytes().all(|b| b.is_ascii_digit())
        && group.parse::<u32>().is_ok();
    if report.format("stats.group", group, name || gid, "is not a group name") {
        if let Err(why) = group_id(group) {
            report.push("stats.group", why);
        }
    }
}

/// The gid `group` names: a gid as it is, or the group of that name on this machine; else
/// why there is none, saying what to do.
pub(crate) fn group_id(group: &str) -> Result<u32, String> {
    if let Ok(gid) = group.parse::<u32>() {
        return Ok(gid);
    }
    match lookup(group) {
        Ok(Some(gid)) => Ok(gid),
        Ok(None) => Err(format!(
            "there is no group named {} on this machine; create it (groupadd {group}) or give a gid",
            quote(group)
        )),
        Err(e) => Err(format!(
            "could not look up the group {} on this machine: {e}",
            quote(group)
        )),
    }
}

/// The gid of the group named `name` (`getgrnam_r`, safe beside other threads), if any.
fn lookup(name: &str) -> std::io::Result<Option<u32>> {
    let c_name = std::ffi::CString::new(name)?;
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: `group` is plain data; getgrnam_r fills it.
        let mut group: libc::group = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call and `buf.len()` is its size; the
        // strings it leaves in `buf` are not read.
        let ret = unsafe {
            libc::getgrnam_r(
                c_name.as_ptr(),
                &mut group,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut found,
            )
        };
        match ret {
            libc::ERANGE if buf.len() < 1 << 20 => buf.resize(buf.len() * 2, 0),
            // getgrnam_r(3): these too say that there is no such group.
            0 | libc::ENOENT | libc::ESRCH | libc::EBADF | libc::EPERM => {
                return Ok((!found.is_null()).then_some(group.gr_gid));
            }
            e => return Err(std::io::Error::from_raw_os_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::group_id;

    #[test]
    fn groups_resolve_on_this_machine() {
        assert_eq!(group_id("root"), Ok(0));
        assert_eq!(group_id("4294967295"), Ok(u32::MAX));
        assert_eq!(
            group_id("fastpath-no-such-group"),
            Err("there is no group named \"fastpath-no-such-group\" on this machine; create it (groupadd fastpath-no-such-group) or give a gid".into())
        );
    }
}
