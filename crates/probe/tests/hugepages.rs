//! Hugepage probing on fixture trees (never the real /sys).

use std::fs;
use std::path::Path;

use probe::Hugepages;

struct Fixture(tempdir::Dir);

mod tempdir {
    use std::path::{Path, PathBuf};

    /// A scratch directory removed on drop.
    pub struct Dir(PathBuf);
    impl Dir {
        pub fn new(tag: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("fastpath-probe-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Fixture {
    fn new(tag: &str) -> Self {
        Self(tempdir::Dir::new(tag))
    }
    fn root(&self) -> &Path {
        self.0.path()
    }
    fn pool(self, size_kb: u64, total: u64, free: u64) -> Self {
        let dir = self
            .root()
            .join(format!("sys/kernel/mm/hugepages/hugepages-{size_kb}kB"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("nr_hugepages"), format!("{total}\n")).unwrap();
        fs::write(dir.join("free_hugepages"), format!("{free}\n")).unwrap();
        self
    }
    fn mounts(self, text: &str) -> Self {
        fs::create_dir_all(self.root().join("proc")).unwrap();
        fs::write(self.root().join("proc/mounts"), text).unwrap();
        self
    }
}

const PLAIN_MOUNTS: &str = "sysfs /sys sysfs rw,nosuid 0 0\nproc /proc proc rw 0 0\n";

#[test]
fn reserved_and_mounted_pages_are_usable() {
    let f = Fixture::new("ok")
        .pool(2048, 512, 500)
        .pool(1_048_576, 0, 0)
        .mounts(&format!(
            "{PLAIN_MOUNTS}hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n"
        ));
    let h = Hugepages::read(f.root()).unwrap();
    assert_eq!(h.pools.len(), 2);
    assert_eq!(
        (h.pools[0].size_kb, h.pools[0].total, h.pools[0].free),
        (2048, 512, 500)
    );
    assert_eq!(h.mounts[0].path, Path::new("/dev/hugepages"));
    assert_eq!(h.mounts[0].page_size_kb, Some(2048));
    assert_eq!(h.usable_free_bytes(), 500 * 2 * 1024 * 1024);
    assert_eq!(h.shortfall(256 << 20), None);
    let short = h.shortfall(2000 << 20).unwrap();
    assert!(
        short.contains("1000 MiB of hugepages are free but 2000 MiB"),
        "{short}"
    );
}

#[test]
fn nothing_reserved_says_how_to_reserve() {
    let f = Fixture::new("none").pool(2048, 0, 0).mounts(PLAIN_MOUNTS);
    let h = Hugepages::read(f.root()).unwrap();
    assert_eq!(h.usable_free_bytes(), 0);
    let why = h.shortfall(1).unwrap();
    assert!(why.contains("no hugepages are reserved"), "{why}");
    assert!(why.contains("nr_hugepages"), "{why}");
}

#[test]
fn reserved_but_unmounted_says_how_to_mount() {
    let f = Fixture::new("unmounted")
        .pool(2048, 64, 64)
        .mounts(PLAIN_MOUNTS);
    let h = Hugepages::read(f.root()).unwrap();
    assert_eq!(h.usable_free_bytes(), 0);
    assert!(h.shortfall(1).unwrap().contains("mount -t hugetlbfs"));
}

#[test]
fn a_mount_of_another_size_does_not_count() {
    let f = Fixture::new("other-size")
        .pool(2048, 64, 64)
        .mounts("nodev /mnt/huge1g hugetlbfs rw,pagesize=1G 0 0\n");
    let h = Hugepages::read(f.root()).unwrap();
    assert_eq!(h.usable_free_bytes(), 0);
}

#[test]
fn a_kernel_without_hugetlb_has_no_pools() {
    let f = Fixture::new("nohugetlb").mounts(PLAIN_MOUNTS);
    let h = Hugepages::read(f.root()).unwrap();
    assert!(h.pools.is_empty());
    assert!(h.shortfall(1).is_some());
}
