//! A route stage's tables as they live across changes: what workers look up, what the control
//! side changes, and how a change reaches the workers without pausing them.
//!
//! A table is double-buffered. Workers read the *active* [`Tables`] through one pointer, loaded
//! once per burst. A change (a batch of adds and deletes) is made to the *standby* copy, which
//! no worker reads; the pointer is swapped; a grace period ([`crate::rcu::Publisher::synchronize`])
//! waits until every worker has passed a burst boundary; then the same batch is made to the
//! copy they left, which becomes the standby. So a worker only ever looks up a table that one
//! version of the route set describes entirely (never one halfway through a batch, nor DPDK's
//! structures halfway through a change), and a batch that fails (a table full) fails on the
//! standby: it is dropped and rebuilt, and the workers never see any of it.
//!
//! The copy the workers left catches up on a thread of its own, so a change is answered as
//! soon as the workers have moved on; the next change waits for it. The standby is made in the
//! background after start (or at the first change), and dropped before `apply()` compiles a
//! program that replaces the table, so that new tables fit where the memory plan counted two
//! copies.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::config::{RouteConfig, RoutePrefix};

/// The FIBs workers look up: one per family that has a table.
#[derive(Debug, Default)]
pub struct Tables {
    /// IPv4 (`DIR24_8`).
    pub v4: Option<dpdk::Fib4>,
    /// IPv6 (TRIE).
    pub v6: Option<dpdk::Fib6>,
}

/// Routes a table holds at most, per family; 0: the family has no table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// IPv4 routes.
    pub v4: u32,
    /// IPv6 routes.
    pub v6: u32,
}

impl Capacity {
    /// The room for `v6`'s family.
    pub fn of(self, v6: bool) -> u32 {
        if v6 {
            self.v6
        } else {
            self.v4
        }
    }
}

/// Where an edit came from: what an error names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum At {
    /// `routes[i]` of a request.
    Route(usize),
    /// `prefixes[i]` of a request.
    Prefix(usize),
    /// A line of route file text (from 1).
    Line(usize),
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Route(i) => write!(f, "routes[{i}]"),
            Self::Prefix(i) => write!(f, "prefixes[{i}]"),
            Self::Line(n) => write!(f, "line {n}"),
        }
    }
}

/// One change of a batch: add (or replace) a route, or delete one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Where it came from (`routes[3]`, `line 7`): what an error names.
    pub at: At,
    /// The prefix.
    pub prefix: RoutePrefix,
    /// The next hop's index (add), or `None` (delete).
    pub hop: Option<u32>,
}

/// What a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Changed {
    /// Routes that were not there before.
    pub added: usize,
    /// Routes whose next hop changed (or was given again).
    pub replaced: usize,
    /// Routes deleted.
    pub deleted: usize,
}

/// Why a batch was refused; nothing of it was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Edits that cannot be made, each `at: why`.
    Edits(Vec<String>),
    /// DPDK refused building the tables (its memory, usually): the message.
    Table(String),
    /// A worker did not pass a burst boundary in time: the change took effect on the
    /// workers that did, the old copy is leaked rather than freed under a reader.
    Stuck,
}

/// The copy workers do not read.
#[derive(Debug, Default)]
enum Standby {
    /// None yet (made at the next change, or in the background after start).
    #[default]
    None,
    /// Ready for the next change.
    Ready(Box<Tables>),
    /// Catching up with the last change on a thread of its own (the change was answered as
    /// soon as the workers had moved on); `None` from it when DPDK refused (then it is rebuilt).
    CatchingUp(std::thread::JoinHandle<Option<Box<Tables>>>),
}

impl Standby {
    /// The copy, once it has caught up.
    fn take(&mut self) -> Option<Box<Tables>> {
        match std::mem::take(self) {
            Self::None => None,
            Self::Ready(tables) => Some(tables),
            Self::CatchingUp(thread) => thread.join().ok().flatten(),
        }
    }
}

/// Writer-side state: the route set (the truth the tables are built from) and the standby.
#[derive(Debug, Default)]
struct Writer {
    routes: BTreeMap<RoutePrefix, u32>,
    /// Routes per family (IPv4, IPv6), kept with `routes`: a walk of a million per change
    /// cost more than a batch of a thousand.
    held: [usize; 2],
    standby: Standby,
}

/// A route stage's tables, shared by the programs that run the stage unchanged.
#[derive(Debug)]
pub struct RouteTable {
    /// What workers read; from `Box::into_raw`, freed by the writer after a grace period.
    active: AtomicPtr<Tables>,
    writer: Mutex<Writer>,
    /// The stage's config: a program whose stage is the same keeps this table (and its live
    /// changes); a changed stage builds a new one.
    pub config: RouteConfig,
    /// Next hop names, by index.
    pub hop_names: Vec<String>,
    /// Room per family.
    pub capacity: Capacity,
    /// What the FIBs answer for no route: the default's index, or `hop_names.len()`.
    pub miss: u64,
}

/// Progress of a long batch: edits made, of how many.
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize);

/// Batches of at least this many edits are caught up with on a thread of their own.
const CATCH_UP_ON_A_THREAD: usize = 4096;

/// How many edits pass between two progress reports.
const PROGRESS_EVERY: usize = 1 << 16;

impl Tables {
    /// Tables of `capacity` holding `routes`; `Err((prefix, why))` names the route DPDK refused.
    fn build(
        routes: &BTreeMap<RoutePrefix, u32>,
        capacity: Capacity,
        max_hop: u64,
        miss: u64,
    ) -> Result<Self, String> {
        let mut tables = Self {
            v4: (capacity.v4 > 0)
                .then(|| dpdk::Fib4::new(capacity.v4, max_hop, miss))
                .transpose()
                .map_err(|e| e.to_string())?,
            v6: (capacity.v6 > 0)
                .then(|| dpdk::Fib6::new(capacity.v6, max_hop, miss))
                .transpose()
                .map_err(|e| e.to_string())?,
        };
        for (&prefix, &hop) in routes {
            tables
                .add(prefix, hop)
                .map_err(|e| format!("{prefix}: {e}"))?;
        }
        Ok(tables)
    }

    fn add(&mut self, p: RoutePrefix, hop: u32) -> Result<(), String> {
        let missing = || "its family has no table".to_owned();
        let r = if p.v6 {
            let fib = self.v6.as_mut().ok_or_else(missing)?;
            fib.add(p.v6(), p.len, u64::from(hop))
        } else {
            let fib = self.v4.as_mut().ok_or_else(missing)?;
            fib.add(p.v4(), p.len, u64::from(hop))
        };
        r.map_err(|e| e.to_string())
    }

    fn delete(&mut self, p: RoutePrefix) -> Result<(), String> {
        let missing = || "its family has no table".to_owned();
        let r = if p.v6 {
            let fib = self.v6.as_mut().ok_or_else(missing)?;
            fib.delete(p.v6(), p.len)
        } else {
            let fib = self.v4.as_mut().ok_or_else(missing)?;
            fib.delete(p.v4(), p.len)
        };
        r.map_err(|e| e.to_string())
    }

    /// Makes `edits` (checked against the route set: every delete names a route).
    fn edit(&mut self, edits: &[Edit], progress: Progress<'_>) -> Result<(), String> {
        for (i, e) in edits.iter().enumerate() {
            match e.hop {
                Some(hop) => self.add(e.prefix, hop),
                None => self.delete(e.prefix),
            }
            .map_err(|why| format!("{}: {} {why}", e.at, e.prefix))?;
            if (i + 1) % PROGRESS_EVERY == 0 {
                progress(i + 1, edits.len());
            }
        }
        Ok(())
    }
}

impl RouteTable {
    /// A table for `config`'s stage holding `routes` (checked: known next hops, one route per
    /// prefix, each family within its capacity).
    pub fn new(
        config: RouteConfig,
        hop_names: Vec<String>,
        capacity: Capacity,
        miss: u64,
        routes: BTreeMap<RoutePrefix, u32>,
    ) -> Result<Self, String> {
        let max_hop = hop_names.len() as u64;
        let tables = Tables::build(&routes, capacity, max_hop, miss)?;
        let v6 = routes.keys().filter(|p| p.v6).count();
        Ok(Self {
            active: AtomicPtr::new(Box::into_raw(Box::new(tables))),
            writer: Mutex::new(Writer {
                held: [routes.len() - v6, v6],
                routes,
                standby: Standby::None,
            }),
            config,
            hop_names,
            capacity,
            miss,
        })
    }

    /// The tables workers look up now.
    ///
    /// # Safety
    /// The caller is a worker inside a burst (it acknowledges a newer generation only after
    /// it stops using the reference), or holds this table's writer lock.
    #[inline]
    pub unsafe fn load(&self) -> &Tables {
        // SAFETY: the pointer came from Box::into_raw and is freed only by the writer, after
        // a grace period that outlasts every worker's burst (the caller's contract).
        unsafe { &*self.active.load(Ordering::Acquire) }
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Routes held, per family.
    pub fn size(&self) -> Capacity {
        let [v4, v6] = self.writer().held;
        Capacity {
            v4: v4 as u32,
            v6: v6 as u32,
        }
    }

    /// Up to `limit` routes after `after` (all from the start for `None`), in order: IPv4
    /// before IPv6, by address, then by length; and whether more follow.
    pub fn list(
        &self,
        after: Option<RoutePrefix>,
        limit: usize,
    ) -> (Vec<(RoutePrefix, u32)>, bool) {
        use std::ops::Bound::{Excluded, Unbounded};
        let w = self.writer();
        let start = after.map_or(Unbounded, Excluded);
        let mut page: Vec<_> = w
            .routes
            .range((start, Unbounded))
            .take(limit + 1)
            .map(|(&p, &h)| (p, h))
            .collect();
        let more = page.len() > limit;
        page.truncate(limit);
        (page, more)
    }

    /// What a packet to `addr` meets: the route that covers it (longest prefix, from the route
    /// set) and the next hop index the workers' table answers (`miss` when none).
    pub fn lookup(&self, addr: IpAddr) -> (Option<RoutePrefix>, u64) {
        let w = self.writer();
        let (v6, value, bits) = match addr {
            IpAddr::V4(a) => (false, u128::from(u32::from(a)), 32u8),
            IpAddr::V6(a) => (true, u128::from(a), 128u8),
        };
        let width = if v6 { u128::MAX } else { u128::from(u32::MAX) };
        let covering = (0..=bits).rev().find_map(|len| {
            let host = width.checked_shr(u32::from(len)).unwrap_or(0);
            let p = RoutePrefix {
                v6,
                addr: value & !host,
                len,
            };
            w.routes.contains_key(&p).then_some(p)
        });
        // SAFETY: the writer lock is held: the active tables are not freed meanwhile.
        let tables = unsafe { self.load() };
        let mut hop = [self.miss];
        match addr {
            IpAddr::V4(a) => {
                if let Some(fib) = &tables.v4 {
                    fib.lookup_bulk(&[u32::from(a)], &mut hop);
                }
            }
            IpAddr::V6(a) => {
                if let Some(fib) = &tables.v6 {
                    fib.lookup_bulk(&[a.octets()], &mut hop);
                }
            }
        }
        (covering, hop[0])
    }

    /// Makes the standby now if there is none (what the first change would do), so that the
    /// first live change is as quick as the next. The engine does it off the workers, in the
    /// background, after start and after `apply()`.
    pub fn prepare_standby(&self) -> Result<(), String> {
        let mut w = self.writer();
        let standby = if let Some(ready) = w.standby.take() {
            ready
        } else {
            let max_hop = self.hop_names.len() as u64;
            Box::new(Tables::build(&w.routes, self.capacity, max_hop, self.miss)?)
        };
        w.standby = Standby::Ready(standby);
        Ok(())
    }

    /// Waits for a standby copy catching up with the last change (the engine does before EAL
    /// lets the copies' memory go).
    pub fn settle(&self) {
        let mut w = self.writer();
        if let Some(ready) = w.standby.take() {
            w.standby = Standby::Ready(ready);
        }
    }

    /// Lets the standby go (before a compile that may build new tables in its memory).
    pub fn drop_standby(&self) {
        let mut w = self.writer();
        drop(w.standby.take());
    }

    /// Makes `edits` as one change: checked against the route set first (a delete of a
    /// route that is not there, a family without a table or without room: refused whole),
    /// made on the standby, swapped in, and, after `grace` says no worker reads the old
    /// copy, made on it too.
    pub fn change(
        &self,
        edits: &[Edit],
        grace: &dyn Fn() -> bool,
        progress: Progress<'_>,
    ) -> Result<Changed, Refused> {
        let mut w = self.writer();
        // Checked against the route set as it is (each prefix comes once in a batch: the
        // caller refuses repeats), without copying it: a table may hold millions.
        let mut changed = Changed::default();
        let mut problems = Vec::new();
        let mut held = w.held;
        for e in edits {
            let there = w.routes.contains_key(&e.prefix);
            let family = usize::from(e.prefix.v6);
            match (e.hop, there) {
                (Some(_), true) => changed.replaced += 1,
                (Some(_), false) => {
                    changed.added += 1;
                    held[family] += 1;
                }
                (None, true) => {
                    changed.deleted += 1;
                    held[family] -= 1;
                }
                (None, false) => problems.push(format!("{}: {} is not routed", e.at, e.prefix)),
            }
            if e.hop.is_some() && self.capacity.of(e.prefix.v6) == 0 {
                let (family, field) = if e.prefix.v6 {
                    ("IPv6", "ipv6")
                } else {
                    ("IPv4", "ipv4")
                };
                problems.push(format!(
                    "{}: {} is {family}, and this stage has no {family} table; give it a route of that family in its config, or set maxRoutes.{field}",
                    e.at, e.prefix,
                ));
            }
        }
        for v6 in [false, true] {
            let held = held[usize::from(v6)];
            let room = self.capacity.of(v6) as usize;
            if room > 0 && held > room {
                problems.push(format!(
                    "the {} table would hold {held} routes, and it has room for {room} (its maxRoutes); set maxRoutes.{} higher and apply the config, or delete routes first",
                    if v6 { "IPv6" } else { "IPv4" },
                    if v6 { "ipv6" } else { "ipv4" },
                ));
            }
        }
        if !problems.is_empty() {
            return Err(Refused::Edits(problems));
        }
        let max_hop = self.hop_names.len() as u64;
        let mut standby = match w.standby.take() {
            Some(ready) => ready,
            None => Box::new(
                Tables::build(&w.routes, self.capacity, max_hop, self.miss)
                    .map_err(Refused::Table)?,
            ),
        };
        // A failure here leaves the standby half-changed: it is dropped, rebuilt next time.
        standby.edit(edits, progress).map_err(Refused::Table)?;
        let old = self.active.swap(Box::into_raw(standby), Ordering::AcqRel);
        for e in edits {
            match e.hop {
                Some(hop) => w.routes.insert(e.prefix, hop),
                None => w.routes.remove(&e.prefix),
            };
        }
        w.held = held;
        if !grace() {
            return Err(Refused::Stuck);
        }
        // SAFETY: `old` came from Box::into_raw, and after the grace period no worker holds a
        // reference into it; the writer lock makes this the only owner.
        let mut old = unsafe { Box::from_raw(old) };
        // The copy the workers left catches up: a large batch on a thread of its own, so the
        // change is answered now (the next one waits for it), a small one here (a thread would
        // cost more than it saves). If DPDK refuses (it should not: the same routes fit the
        // other copy), the copy is dropped and rebuilt at the next change.
        if edits.len() < CATCH_UP_ON_A_THREAD {
            if old.edit(edits, &mut |_, _| {}).is_ok() {
                w.standby = Standby::Ready(old);
            }
            return Ok(changed);
        }
        let edits = edits.to_vec();
        let catch_up = move || old.edit(&edits, &mut |_, _| {}).is_ok().then_some(old);
        w.standby = match std::thread::Builder::new()
            .name("fastpath-routes".into())
            .spawn(catch_up)
        {
            Ok(thread) => Standby::CatchingUp(thread),
            Err(_) => Standby::None,
        };
        Ok(changed)
    }
}

impl Drop for RouteTable {
    fn drop(&mut self) {
        // A copy still catching up goes first (it is written by another thread).
        drop(
            self.writer
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner)
                .standby
                .take(),
        );
        // SAFETY: the last program that ran this table is gone (programs are freed after a
        // grace period), so no worker reads it; this takes back what `new`/`change` leaked.
        drop(unsafe { Box::from_raw(*self.active.get_mut()) });
    }
}

#[cfg(test)]
mod tests;
