//! Binds DPDK through `pkg-config libdpdk`.
//!
//! The `.pc` file's cflags (`-include rte_config.h`, `-march=...`, include dirs) go unchanged
//! into both bindgen and the C shim, so the struct layouts Rust sees are the ones DPDK was
//! built with. Only the libraries the engine calls are linked; the PMDs (net_null, net_pcap,
//! ...) are shared-object plugins that EAL loads at init from its driver directory.

use std::env;
use std::path::PathBuf;
use std::process::Command;

/// Libraries whose exported symbols the workspace calls directly.
const LIBS: &[&str] = &[
    "rte_eal",
    "rte_ethdev",
    "rte_mbuf",
    "rte_mempool",
    "rte_ring",
    "rte_kvargs",
    "rte_telemetry",
    "rte_fib",
    "rte_acl",
    "rte_bpf",
    "rte_pcapng",
    // rte_pdump_init/uninit: lets dpdk-dumpcap capture from an engine that serves secondaries.
    "rte_pdump",
    // libpcap: `pcap_compile` turns a tcpdump filter into the classic BPF rte_bpf converts.
    "pcap",
];

fn pkg_config(args: &[&str]) -> Vec<String> {
    let out = Command::new("pkg-config")
        .args(args)
        .arg("libdpdk")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run pkg-config ({e}): install pkg-config and libdpdk-dev")
        });
    assert!(
        out.status.success(),
        "`pkg-config {} libdpdk` failed: install DPDK's development files (apt-get install libdpdk-dev) \
         or point PKG_CONFIG_PATH at libdpdk.pc\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("pkg-config printed non-UTF-8")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn main() {
    println!("cargo:rerun-if-changed=src/wrapper.h");
    println!("cargo:rerun-if-changed=src/inline.c");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    let version = pkg_config(&["--modversion"]);
    let version = version.first().map_or("", String::as_str);
    assert!(
        version.starts_with("22.11"),
        "Fastpath binds DPDK 22.11; pkg-config found libdpdk {version}"
    );

    // `-include rte_config.h` is two tokens; keep the pair together for cc.
    let cflags = pkg_config(&["--cflags"]);

    for flag in pkg_config(&["--libs-only-L"]) {
        if let Some(dir) = flag.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
        }
    }
    for lib in LIBS {
        println!("cargo:rustc-link-lib=dylib={lib}");
    }

    let mut shim = cc::Build::new();
    shim.file("src/inline.c").opt_level(3).warnings(true);
    let mut it = cflags.iter();
    while let Some(flag) = it.next() {
        if flag == "-include" {
            if let Some(header) = it.next() {
                shim.flag("-include").flag(header);
            }
        } else {
            shim.flag(flag);
        }
    }
    shim.compile("fastpath_dpdk_inline");

    let bindings = bindgen::Builder::default()
        .header("src/wrapper.h")
        .clang_args(&cflags)
        .allowlist_function("rte_.*")
        .allowlist_type("rte_.*")
        .allowlist_var("RTE_.*|rte_.*")
        .allowlist_function("pcap_open_dead|pcap_compile|pcap_freecode|pcap_geterr|pcap_close")
        .allowlist_var("DLT_EN10MB|PCAP_NETMASK_UNKNOWN")
        // Static inline functions are reached through src/inline.c instead.
        .generate_inline_functions(false)
        .prepend_enum_name(false)
        .derive_default(true)
        .layout_tests(false)
        // Packed and over-aligned at once, which Rust cannot express: keep them opaque.
        .opaque_type("rte_arp_hdr")
        .opaque_type("rte_arp_ipv4")
        .opaque_type("rte_l2tpv2_combined_msg_hdr")
        .opaque_type("rte_gtp_psc_.*")
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .expect("bindgen could not translate DPDK's headers");

    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("cannot write bindings.rs");
}
