//! What Fastpath's Rust tests share (a dev-dependency only).

use std::process::Command;

/// xorshift64*: reproducible randomness without a dependency (a fixed seed, the same run).
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    #[allow(clippy::should_implement_trait)] // an endless generator, not an iterator
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Runs test `name`'s `body` in a process of its own: EAL starts once per process, so the
/// test re-runs this test binary filtered to itself with `child_env` set to `name`, and
/// checks the child's verdict. In the child, `body` runs.
///
/// # Panics
/// When the child fails or runs no test (the assertion says which, with its output).
pub fn in_own_process(child_env: &str, name: &str, body: impl FnOnce()) {
    if std::env::var(child_env).as_deref() == Ok(name) {
        body();
        return;
    }
    let out = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(child_env, name)
        .output()
        .expect("the test binary runs again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child {name} failed\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "child {name} ran no test\n{stdout}"
    );
}
