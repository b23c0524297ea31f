//! Port sources whose link comes up only once a peer is there: a memif or vhost-user
//! socket's other end, or a kernel interface's (`AF_XDP`). Their rules (socket paths,
//! interface names) are in [`crate::validate`]; what the machine must offer before EAL
//! starts (a listening server for a client, a free path for a server, the interface) is
//! checked by the plan (`plan/sockets.rs`).

use serde::Deserialize;

/// A memif role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemifRole {
    /// Listens on the socket (and owns the shared memory's rings' layout).
    Server,
    /// Connects to a server's socket, which must be listening when the engine starts.
    Client,
}

/// `net_memif`: shared-memory packet rings with another process (another engine, VPP, ...),
/// set up through a Unix socket.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MemifSource {
    /// Server or client.
    pub role: MemifRole,
    /// The socket's path in the file system.
    pub socket: String,
    /// The interface id: a server serves a client per id (default 0).
    #[serde(default)]
    pub id: u32,
}

/// `net_vhost`: the vhost-user backend of a virtio device (a VM's, or a `virtioUser` port's),
/// set up through a Unix socket.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VhostSource {
    /// The socket's path.
    pub socket: String,
    /// Connect to the socket (the front end listens; reconnects until it does) instead of
    /// listening on it.
    #[serde(default)]
    pub client: bool,
}

/// `net_virtio_user`: a virtio device in this process whose backend is a vhost-user socket.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VirtioUserSource {
    /// The vhost-user socket's path.
    pub path: String,
    /// Listen on the socket (the backend connects) instead of connecting to it, which needs
    /// the backend listening when the engine starts.
    #[serde(default)]
    pub server: bool,
}

/// `net_af_xdp`: a kernel interface's queues through `AF_XDP` sockets.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AfXdpSource {
    /// The interface, e.g. `veth0`.
    pub iface: String,
    /// Its first queue the port uses (it uses `queues` of them from there; default 0).
    #[serde(default)]
    pub queue: u16,
}
