//! EAL's command line, from a typed struct: memory, lcores, devices, the file prefix.

use super::IovaMode;

/// Where EAL gets its memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EalMemory {
    /// Hugepages (dynamic memory mode): `socket_mb[s]` MiB preallocated on socket `s`
    /// (`--socket-mem`), grown on demand past that; empty preallocates nothing.
    Hugepages {
        /// MiB per NUMA socket, in socket order.
        socket_mb: Vec<u32>,
    },
    /// Anonymous 4 KiB pages: `--no-huge -m <megabytes> --no-shconf`. Implies IOVA as VA.
    NoHuge {
        /// Total memory EAL reserves up front, in MiB.
        megabytes: u32,
    },
}

/// Everything that becomes EAL's argv, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EalArgs {
    /// Names this EAL instance's runtime directory (`/var/run/dpdk/<prefix>`); unique per process.
    pub file_prefix: String,
    /// The main (control) lcore.
    pub main_lcore: u32,
    /// Worker lcores, in launch order. May be empty for a control-only EAL.
    pub workers: Vec<u32>,
    /// (lcore, CPU) for every lcore when some lcore runs on a CPU of another number
    /// (`--lcores 0@0,1@1,2@1`); empty means each lcore runs on its own-numbered CPU (`-l`).
    pub cpus: Vec<(u32, u32)>,
    /// Hugepages or not.
    pub memory: EalMemory,
    /// Forces an IOVA mode instead of letting EAL pick.
    pub iova_mode: Option<IovaMode>,
    /// `--vdev` specs, e.g. `net_null0` or `net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap`.
    pub vdevs: Vec<String>,
    /// PCI devices to allow (`-a`). Empty means `--no-pci`: the machine's own NIC is never probed.
    pub pci_allow: Vec<String>,
    /// `--log-level`, e.g. `notice` or `lib.eal:debug`.
    pub log_level: Option<String>,
    /// Echo DPDK's log to stderr (it is captured for error messages either way).
    pub log_to_stderr: bool,
    /// Further EAL arguments, appended last.
    pub extra: Vec<String>,
    /// Serve DPDK secondary processes (`dpdk-dumpcap`, `dpdk-proc-info`): hugepage files stay
    /// linked while EAL runs (so a secondary can map them; EAL leaves them behind at cleanup,
    /// for the owner to remove), and pdump is served (`rte_pdump_init`; the data path pays only while a dumpcap captures,
    /// through the ethdev rx/tx callbacks it installs). Needs [`EalMemory::Hugepages`].
    pub secondary_processes: bool,
}

impl EalArgs {
    /// A control-only EAL: main lcore 0, no workers, no PCI, no vdevs, `megabytes` of
    /// anonymous memory (no hugepages), its log captured. What a program needs to build DPDK
    /// tables (FIBs, ACLs) without forwarding, e.g. the tests of those wrappers.
    pub fn control_only(file_prefix: String, megabytes: u32) -> Self {
        Self {
            file_prefix,
            main_lcore: 0,
            workers: Vec::new(),
            cpus: Vec::new(),
            memory: EalMemory::NoHuge { megabytes },
            iova_mode: None,
            vdevs: Vec::new(),
            pci_allow: Vec::new(),
            log_level: None,
            log_to_stderr: false,
            extra: Vec::new(),
            secondary_processes: false,
        }
    }

    /// The memory arguments alone (what `fastpath mem plan` shows).
    pub fn memory_argv(&self) -> Vec<String> {
        match &self.memory {
            // --no-huge implies legacy memory and cannot be combined with --in-memory;
            // --no-shconf keeps it from writing a shared config file it could not share anyway.
            EalMemory::NoHuge { megabytes } => vec![
                "-m".to_owned(),
                megabytes.to_string(),
                "--no-huge".to_owned(),
                "--no-shconf".to_owned(),
            ],
            // Unlinked right after mapping, hugepage files cannot outlive the process and
            // keep pages reserved; a secondary process maps them by name, so an engine that
            // serves secondaries keeps them (EAL's default, `existing`: stale files of the
            // prefix are removed at start), and its owner removes them after cleanup.
            EalMemory::Hugepages { socket_mb } => {
                let mut argv = if self.secondary_processes {
                    Vec::new()
                } else {
                    vec!["--huge-unlink=always".to_owned()]
                };
                if !socket_mb.is_empty() {
                    let list: Vec<String> = socket_mb.iter().map(u32::to_string).collect();
                    argv.extend(["--socket-mem".to_owned(), list.join(",")]);
                }
                argv
            }
        }
    }

    /// The argv handed to `rte_eal_init` (program name first).
    pub fn to_argv(&self) -> Vec<String> {
        fn pair(argv: &mut Vec<String>, flag: &str, value: impl Into<String>) {
            argv.push(flag.to_owned());
            argv.push(value.into());
        }
        let mut argv: Vec<String> = vec!["fastpath".into()];
        let lcores: Vec<String> = std::iter::once(self.main_lcore)
            .chain(self.workers.iter().copied())
            .map(|l| l.to_string())
            .collect();
        if self.cpus.is_empty() {
            pair(&mut argv, "-l", lcores.join(","));
        } else {
            let map: Vec<String> = self.cpus.iter().map(|(l, c)| format!("{l}@{c}")).collect();
            pair(&mut argv, "--lcores", map.join(","));
        }
        pair(&mut argv, "--main-lcore", self.main_lcore.to_string());
        pair(&mut argv, "--file-prefix", self.file_prefix.as_str());
        argv.extend(self.memory_argv());
        if let Some(mode) = self.iova_mode {
            pair(&mut argv, "--iova-mode", mode.as_str().to_ascii_lowercase());
        }
        for vdev in &self.vdevs {
            pair(&mut argv, "--vdev", vdev.as_str());
        }
        for pci in &self.pci_allow {
            pair(&mut argv, "-a", pci.as_str());
        }
        if let Some(level) = &self.log_level {
            pair(&mut argv, "--log-level", level.as_str());
        }
        if self.pci_allow.is_empty() {
            argv.push("--no-pci".to_owned());
        }
        argv.extend(self.extra.iter().cloned());
        argv
    }
}

#[cfg(test)]
mod tests;
