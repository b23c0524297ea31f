//! Reads the `rte_build_config.h` of the DPDK that `pkg-config libdpdk` names — the one the
//! engine links (see `crates/dpdk-sys/build.rs`) — and writes the switches the IOVA prediction
//! depends on to `$OUT_DIR/dpdk_build.rs`, so that a rule compiled out of that DPDK is never
//! predicted. Nothing is linked: the crate stays pure Rust.

use std::collections::BTreeMap;
use std::env;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

const HEADER: &str = "rte_build_config.h";

/// The include directories of `pkg-config --cflags-only-I libdpdk`.
fn include_dirs() -> Vec<PathBuf> {
    let out = Command::new("pkg-config")
        .args(["--cflags-only-I", "libdpdk"])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run pkg-config ({e}): install pkg-config and libdpdk-dev")
        });
    assert!(
        out.status.success(),
        "`pkg-config --cflags-only-I libdpdk` failed: install DPDK's development files \
         (apt-get install libdpdk-dev) or point PKG_CONFIG_PATH at libdpdk.pc\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|flag| flag.strip_prefix("-I").map(PathBuf::from))
        .collect()
}

/// `#define NAME [VALUE]` lines as NAME → VALUE (empty for a bare define); `#undef` lines drop.
fn defines(text: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("#define"), Some(name)) => {
                map.insert(name.to_owned(), words.collect::<Vec<_>>().join(" "));
            }
            (Some("#undef"), Some(name)) => {
                map.remove(name);
            }
            _ => {}
        }
    }
    map
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let dirs = include_dirs();
    let header = dirs
        .iter()
        .map(|d| d.join(HEADER))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no {HEADER} in the include directories of libdpdk ({dirs:?}): install libdpdk-dev"
            )
        });
    println!("cargo:rerun-if-changed={}", header.display());
    let text = fs::read_to_string(&header)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", header.display()));
    let d = defines(&text);
    let on = |name: &str| d.get(name).is_some_and(|v| v != "0");
    let number = |name: &str| d.get(name).cloned().unwrap_or_else(|| "?".to_owned());
    let version = format!(
        "{}.{}.{}",
        number("RTE_VER_YEAR"),
        number("RTE_VER_MONTH"),
        number("RTE_VER_MINOR")
    );
    let code = format!(
        "DpdkBuild {{\n    version: {version:?},\n    header: {header:?},\n    iova_as_pa: {},\n    \
         vfio: {},\n    kni: {},\n    net_cnxk: {},\n    net_mlx4: {},\n    net_mlx5: {},\n    \
         arch_x86: {},\n}}\n",
        on("RTE_IOVA_AS_PA"),
        on("RTE_EAL_VFIO"),
        on("RTE_LIB_KNI"),
        on("RTE_NET_CNXK"),
        on("RTE_NET_MLX4"),
        on("RTE_NET_MLX5"),
        on("RTE_ARCH_X86"),
        header = header.display().to_string(),
    );
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("dpdk_build.rs"), code).expect("OUT_DIR is writable");
}
