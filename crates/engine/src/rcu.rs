//! Publishing a new [`Program`] to running workers without pausing them: quiescent-state RCU.
//!
//! The control thread swaps the current pointer and bumps the generation. Each worker, at a
//! burst boundary (when it holds no reference into the program), compares the generation
//! with the one it runs, switches if needed, and acknowledges. Once every worker has
//! acknowledged the new generation, no one can still read the old program, and it is freed.

use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::compile::Program;

/// A worker that has left its loop acknowledges this, which satisfies every wait.
pub const OFFLINE: u64 = u64::MAX;

#[repr(align(64))]
#[derive(Debug, Default)]
struct Ack(AtomicU64);

/// A worker did not pick up a published program in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unacknowledged;

/// The current program, shared by the control thread and the workers.
#[derive(Debug)]
pub struct Publisher {
    current: AtomicPtr<Program>,
    generation: AtomicU64,
    acks: Box<[Ack]>,
}

impl Publisher {
    /// Publishes `program` as generation 1 for `workers` workers.
    pub fn new(program: Arc<Program>, workers: usize) -> Self {
        Self {
            current: AtomicPtr::new(Arc::into_raw(program).cast_mut()),
            generation: AtomicU64::new(1),
            acks: (0..workers).map(|_| Ack::default()).collect(),
        }
    }

    /// The generation workers should run.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The current program. The reference stays valid until this worker acknowledges a later
    /// generation (or goes offline): that is the worker's half of the contract.
    ///
    /// # Safety
    /// The caller must be worker `worker`, must stop using the returned reference before
    /// calling [`Publisher::ack`] with a newer generation, and must not use it after acking
    /// [`OFFLINE`].
    #[inline]
    pub unsafe fn load(&self) -> &Program {
        // SAFETY: the pointer came from Arc::into_raw and is freed only after every worker
        // has acknowledged a generation newer than the one that published it.
        unsafe { &*self.current.load(Ordering::Acquire) }
    }

    /// Worker `worker` now runs `generation` and holds no older reference.
    #[inline]
    pub fn ack(&self, worker: usize, generation: u64) {
        self.acks[worker].0.store(generation, Ordering::Release);
    }

    /// Waits until every worker has passed a burst boundary (a grace period): data a worker
    /// could reach from the current program before this call is unreachable by any worker
    /// afterwards, if it was unlinked before the call. The program stays; the generation moves
    /// on (the route stage's live tables use this to free or reuse the tables they replaced).
    pub fn synchronize(&self, timeout: Duration) -> Result<(), Unacknowledged> {
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        self.wait(generation, timeout)
    }

    fn wait(&self, generation: u64, timeout: Duration) -> Result<(), Unacknowledged> {
        let deadline = Instant::now() + timeout;
        while self
            .acks
            .iter()
            .any(|a| a.0.load(Ordering::Acquire) < generation)
        {
            if Instant::now() > deadline {
                return Err(Unacknowledged);
            }
            std::thread::sleep(Duration::from_micros(20));
        }
        Ok(())
    }

    /// Swaps in `program` and waits until every worker has moved to it. Returns the old
    /// program, now referenced by no worker, or [`Unacknowledged`] if a worker did not
    /// acknowledge within `timeout` (then the old program is deliberately leaked: a slow
    /// worker may still read it).
    pub fn publish(
        &self,
        program: Arc<Program>,
        timeout: Duration,
    ) -> Result<Arc<Program>, Unacknowledged> {
        let old = self
            .current
            .swap(Arc::into_raw(program).cast_mut(), Ordering::AcqRel);
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        self.wait(generation, timeout)?;
        // SAFETY: `old` came from Arc::into_raw, and every worker has acknowledged a newer
        // generation, so this is the only remaining use of that reference count.
        Ok(unsafe { Arc::from_raw(old) })
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        // SAFETY: the publisher is dropped after every worker has gone offline; this takes
        // back the reference `new`/`publish` leaked.
        drop(unsafe { Arc::from_raw(self.current.load(Ordering::Acquire)) });
    }
}
