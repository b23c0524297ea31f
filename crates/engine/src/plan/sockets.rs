//! What a port whose peer is another program needs of the machine before EAL starts: a
//! server's socket path free (a directory to create it in, no one listening there), a
//! client's server listening (DPDK's memif and `virtio_user` clients fail their start or
//! probe without one, with no word of why), an `AF_XDP` port's interface there.
//!
//! Read-only, so that `fastpath validate` may run it: a server's socket left by a killed
//! program (a file nobody listens on, which the drivers refuse to bind over) is removed at
//! start by [`clear_stale`].

use std::path::Path;

use crate::config::{EngineConfig, MemifRole, PortConfig};
use crate::error::EngineError;

/// A socket a port binds or connects to.
struct Socket<'a> {
    /// The config field that names it.
    field: &'static str,
    path: &'a str,
    /// It listens (else it connects).
    server: bool,
    /// Who must listen for a client to start.
    peer: &'static str,
}

fn socket(p: &PortConfig) -> Option<Socket<'_>> {
    if let Some(m) = &p.memif {
        return Some(Socket {
            field: "memif.socket",
            path: &m.socket,
            server: m.role == MemifRole::Server,
            peer: "a memif server (a port { memif: { role: 'server', socket } } of a running engine, or another program's)",
        });
    }
    if let Some(v) = &p.vhost {
        // A vhost client reconnects until its peer listens: nothing to wait for.
        return (!v.client).then_some(Socket {
            field: "vhost.socket",
            path: &v.socket,
            server: true,
            peer: "",
        });
    }
    p.virtio_user.as_ref().map(|v| Socket {
        field: "virtioUser.path",
        path: &v.path,
        server: v.server,
        peer: "a vhost-user backend (a port { vhost: { socket } } of a running engine, or a vhost-user switch)",
    })
}

/// Whether a Unix socket listens on `path` now (`/proc/net/unix`: the `__SO_ACCEPTCON`
/// flag), seen without connecting (which a server would take for a peer).
fn listening(path: &str) -> bool {
    let bound = format!(" {path}");
    std::fs::read_to_string("/proc/net/unix").is_ok_and(|table| {
        table.lines().skip(1).any(|line| {
            // The path comes last and may hold spaces: match it as the line's end.
            line.ends_with(&bound)
                && line
                    .split_whitespace()
                    .nth(3)
                    .and_then(|flags| u32::from_str_radix(flags, 16).ok())
                    .is_some_and(|f| f & 0x0001_0000 != 0)
        })
    })
}

/// Checks that port `p`'s socket or interface is ready for its driver.
pub(super) fn ready(p: &PortConfig) -> Result<(), EngineError> {
    let path = |field: &str| format!("ports.{}.{field}", p.name);
    if let Some(x) = &p.af_xdp {
        if !Path::new("/sys/class/net").join(&x.iface).exists() {
            return Err(EngineError::config(
                &path("afXdp.iface"),
                format!("there is no network interface {:?} here (ip link lists those there are); give an existing one", x.iface),
            ));
        }
    }
    let Some(s) = socket(p) else {
        return Ok(());
    };
    let at = path(s.field);
    if !s.server {
        if !listening(s.path) {
            return Err(EngineError::config(
                &at,
                format!(
                    "nothing listens on {:?}: start {} first, then this engine",
                    s.path, s.peer
                ),
            ));
        }
        return Ok(());
    }
    let file = Path::new(s.path);
    if let Some(dir) = file.parent().filter(|d| !d.is_dir()) {
        return Err(EngineError::config(
            &at,
            format!(
                "directory {} does not exist: create it (mkdir -p {}) or give another path",
                dir.display(),
                dir.display()
            ),
        ));
    }
    if listening(s.path) {
        return Err(EngineError::config(
            &at,
            format!("another program already listens on {:?} (a running engine's port?): give this port another socket, or stop that program", s.path),
        ));
    }
    match std::fs::symlink_metadata(file) {
        Ok(meta) if !std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()) => {
            Err(EngineError::config(
                &at,
                format!(
                    "{:?} exists and is not a socket: give this port another path",
                    s.path
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// Removes the server sockets of `config`'s ports that nobody listens on (left by a stopped
/// or killed server: DPDK's drivers refuse to bind over them); returns a note for each.
pub(crate) fn clear_stale(config: &EngineConfig) -> Vec<String> {
    config
        .ports
        .iter()
        .filter_map(socket)
        .filter(|s| s.server && !listening(s.path))
        .filter(|s| {
            std::fs::symlink_metadata(s.path).is_ok_and(|m| {
                std::os::unix::fs::FileTypeExt::is_socket(&m.file_type())
            }) && std::fs::remove_file(s.path).is_ok()
        })
        .map(|s| {
            format!(
                "removed the socket {} that nothing listened on (left by a stopped or killed server)",
                s.path
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_is_seen_and_a_dead_socket_cleared() {
        let dir = std::env::temp_dir().join(format!("fastpath-sockets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a socket.sock");
        let text = path.to_str().unwrap().to_owned();
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        assert!(listening(&text));
        drop(listener);
        assert!(
            !listening(&text) && path.exists(),
            "a closed listener leaves its file"
        );
        let mut config: EngineConfig = serde_json::from_value(serde_json::json!({
            "ports": { "m": { "memif": { "role": "server", "socket": text } } },
            "lcores": { "workers": [1] },
            "pipelines": []
        }))
        .unwrap();
        config.ports[0].name = "m".into();
        assert!(ready(&config.ports[0]).is_ok());
        assert_eq!(clear_stale(&config).len(), 1);
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
