//! A compiled set of pipelines: what workers run, immutable once published.
//!
//! [`compile`] turns the config's pipelines into stages with resolved port indexes, parsed
//! addresses and prefixes, generator templates and counter slots, and checks what only the
//! engine knows (which workers may send on which port's tx queues). A new program replaces
//! the old one through [`crate::rcu`] without pausing any worker.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crate::bridge::MacTable;
use crate::config::{ActionConfig, EngineConfig, GeneratorConfig, MatchConfig, StageConfig};
use crate::error::EngineError;
use crate::net::{self, parse_mac, Headers, Mac, Prefix};
use crate::plan::Plan;

/// Verdict: drop the packet.
pub const DROP: u16 = u16::MAX;
/// Verdict: send a copy out of every bridge port but the one it came in on.
pub const FLOOD: u16 = u16::MAX - 1;

/// Adds `n` to a counter only this thread writes (a plain load and store, no locked op).
#[inline]
pub fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed) + n, Relaxed);
}

/// Indexes into a pipeline's four counters in the stats segment
/// ([`stats::Segment::pipeline_counters`]).
pub mod counter {
    /// Packets that entered (received or generated).
    pub const IN: usize = 0;
    /// Packets handed to an output's tx buffer (copies included).
    pub const OUT: usize = 1;
    /// Packets a stage dropped (drop stage, drop rules, bridge filtering, no output).
    pub const DROPPED: usize = 2;
    /// Packets the generator made.
    pub const GENERATED: usize = 3;
}

/// A compiled header match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    ethertype: Option<u16>,
    vlan: Option<u16>,
    src: Option<Prefix>,
    dst: Option<Prefix>,
    proto: Option<u8>,
    src_port: Option<(u16, u16)>,
    dst_port: Option<(u16, u16)>,
}

impl Match {
    #[inline]
    fn matches(&self, h: &Headers) -> bool {
        self.ethertype.is_none_or(|e| e == h.ethertype)
            && self.vlan.is_none_or(|v| h.vlan == Some(v))
            && self
                .src
                .is_none_or(|p| h.src.is_some_and(|a| p.contains(a)))
            && self
                .dst
                .is_none_or(|p| h.dst.is_some_and(|a| p.contains(a)))
            && self.proto.is_none_or(|p| h.proto == Some(p))
            && self
                .src_port
                .is_none_or(|(lo, hi)| h.ports.is_some_and(|(s, _)| (lo..=hi).contains(&s)))
            && self
                .dst_port
                .is_none_or(|(lo, hi)| h.ports.is_some_and(|(_, d)| (lo..=hi).contains(&d)))
    }

    /// Whether any field needs the IP/L4 headers parsed.
    fn needs_headers(&self) -> bool {
        self != &Self {
            ethertype: None,
            vlan: None,
            src: None,
            dst: None,
            proto: None,
            src_port: None,
            dst_port: None,
        }
    }
}

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Drop.
    Drop,
    /// Count and go on.
    Count,
    /// Send out of a port.
    Forward(u16),
    /// Copy out of a port.
    Mirror(u16),
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Display name.
    pub name: String,
    /// Match.
    pub matches: Match,
    /// Action.
    pub action: Action,
    /// Counter slot in the stats segment (stable for this pipeline and rule name).
    pub slot: usize,
}

/// A compiled stage.
#[derive(Debug)]
pub enum Stage {
    /// Set MACs; `src: None` uses the packet's output port's own MAC.
    MacRewrite {
        /// Source MAC.
        src: Option<Mac>,
        /// Destination MAC.
        dst: Mac,
    },
    /// Swap MACs.
    MacSwap,
    /// Swap MACs, addresses, ports.
    FiveTupleSwap,
    /// Drop all.
    Drop,
    /// First-match rules.
    Match {
        /// Rules in order.
        rules: Vec<Rule>,
    },
    /// Learning bridge over `ports`.
    Bridge {
        /// The learned table (kept across programs for the same pipeline and stage).
        table: Arc<MacTable>,
        /// Seconds before an entry ages out.
        aging_s: u64,
        /// The bridge's ports.
        ports: Vec<u16>,
    },
}

/// A generator: per-flow frame templates.
#[derive(Debug)]
pub struct Generator {
    /// One frame per flow.
    pub frames: Vec<Vec<u8>>,
    /// Packets per burst.
    pub burst: usize,
    /// Stop after this many packets in all (None: unlimited).
    pub count: Option<u64>,
    /// Packets made so far under this pipeline's name, across every program: the budget
    /// `count` is checked against it, so a swap can never make a generator overshoot.
    pub made: Arc<AtomicU64>,
    /// Index of the worker that runs it.
    pub worker: usize,
}

impl Generator {
    /// Whether a counted generator has made all its packets (checked before allocating, so
    /// a spent generator costs its worker one load per loop, not an alloc and a free).
    #[inline]
    pub fn exhausted(&self) -> bool {
        self.count
            .is_some_and(|count| self.made.load(Relaxed) >= count)
    }

    /// Claims up to `want` packets of the budget; returns how many may be made.
    #[inline]
    pub fn claim(&self, want: usize) -> usize {
        let Some(count) = self.count else {
            self.made.fetch_add(want as u64, Relaxed);
            return want;
        };
        let granted = self.made.fetch_update(Relaxed, Relaxed, |made| {
            (made < count).then(|| made + (count - made).min(want as u64))
        });
        granted.map_or(0, |before| (count - before).min(want as u64) as usize)
    }
}

/// How packets leave a pipeline: the shapes that need no per-packet verdicts are spotted at
/// compile time so that the hot path for them is as short as testpmd's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Stages only rewrite headers (or there are none) and there is one output: the whole
    /// burst goes to it.
    Whole,
    /// The first stage drops everything: free the burst, count it.
    DropAll,
    /// Stages decide per packet (match, bridge, mirror, drop after others).
    PerPacket,
}

/// A compiled pipeline.
#[derive(Debug)]
pub struct Pipeline {
    /// Display name.
    pub name: String,
    /// Stages in order.
    pub stages: Vec<Stage>,
    /// Where packets go when no stage decides: the first output, or [`DROP`].
    pub default_out: u16,
    /// How a burst leaves the pipeline, decided once at compile time.
    pub flow: Flow,
    /// Whether a stage needs the time (bridges).
    pub needs_clock: bool,
    /// Ports a [`FLOOD`] verdict copies to (the bridge's ports).
    pub flood_ports: Vec<u16>,
    /// The generator, if any.
    pub generator: Option<Generator>,
    /// Counter slot in the stats segment (stable for this name across programs).
    pub slot: usize,
}

/// Everything workers run, immutable once published.
#[derive(Debug)]
pub struct Program {
    /// Pipelines in config order.
    pub pipelines: Vec<Pipeline>,
    /// For each port index, the pipeline its received packets enter.
    pub input_pipeline: Vec<Option<u16>>,
    /// For each port index, its MAC (for MAC rewriting).
    pub port_macs: Vec<Mac>,
    /// Where every pipeline and rule counts (slots stable by name across programs).
    pub segment: Arc<stats::Segment>,
    /// Match stages: (pipeline index, name, counter slot), in config order.
    pub rule_names: Vec<(usize, String, usize)>,
}

/// What the engine knows after the ports are up, needed to compile.
#[derive(Debug, Clone)]
pub struct PortFacts {
    /// MAC per port.
    pub macs: Vec<Mac>,
    /// Tx queues configured per port; worker `w` sends on queue `w` if `w` is below it.
    pub tx_queues: Vec<u16>,
    /// Driver name per port.
    pub drivers: Vec<String>,
}

/// Bridge tables by (pipeline name, stage index), carried from one program to the next.
pub type BridgeTables = HashMap<(String, usize), Arc<MacTable>>;

/// Generator budgets by pipeline name, carried from one program to the next.
pub type Generated = HashMap<String, Arc<AtomicU64>>;

fn mac_field(path: &str, text: &str) -> Result<Mac, EngineError> {
    parse_mac(text).map_err(|e| EngineError::config(path, e))
}

fn compile_match(path: &str, m: &MatchConfig) -> Result<Match, EngineError> {
    let prefix = |field: &str, text: &Option<String>| {
        text.as_deref()
            .map(Prefix::parse)
            .transpose()
            .map_err(|e| EngineError::config(&format!("{path}.{field}"), e))
    };
    let range = |field: &str, r: Option<[u16; 2]>| match r {
        Some([lo, hi]) if lo > hi => Err(EngineError::config(
            &format!("{path}.{field}"),
            format!("[{lo}, {hi}] is an empty range (low above high)"),
        )),
        Some([lo, hi]) => Ok(Some((lo, hi))),
        None => Ok(None),
    };
    if let Some(vlan) = m.vlan.filter(|v| *v > 4095) {
        return Err(EngineError::config(
            &format!("{path}.vlan"),
            format!("{vlan} is not a VLAN id (0-4095)"),
        ));
    }
    Ok(Match {
        ethertype: m.ethertype,
        vlan: m.vlan,
        src: prefix("src", &m.src)?,
        dst: prefix("dst", &m.dst)?,
        proto: m.proto,
        src_port: range("srcPort", m.src_port)?,
        dst_port: range("dstPort", m.dst_port)?,
    })
}

fn compile_generator(
    path: &str,
    g: &GeneratorConfig,
    out: u16,
    facts: &PortFacts,
    worker: usize,
    made: Arc<AtomicU64>,
) -> Result<Generator, EngineError> {
    if !(60..=2048).contains(&g.packet_size) {
        return Err(EngineError::config(
            &format!("{path}.packetSize"),
            format!("{} is outside 60..2048 bytes", g.packet_size),
        ));
    }
    if g.flows == 0 || g.flows > 65536 {
        return Err(EngineError::config(
            &format!("{path}.flows"),
            format!("{} is outside 1..65536", g.flows),
        ));
    }
    if g.burst == 0 || usize::from(g.burst) > dpdk::BURST_SIZE {
        return Err(EngineError::config(
            &format!("{path}.burst"),
            format!("{} is outside 1..{}", g.burst, dpdk::BURST_SIZE),
        ));
    }
    if out == DROP {
        return Err(EngineError::config(
            path,
            "a generator needs an output port",
        ));
    }
    let src_mac = match &g.src_mac {
        Some(text) => mac_field(&format!("{path}.srcMac"), text)?,
        None => facts.macs[usize::from(out)],
    };
    let dst_mac = mac_field(&format!("{path}.dstMac"), &g.dst_mac)?;
    let src_ip =
        net::parse_ipv4(&g.src_ip).map_err(|e| EngineError::config(&format!("{path}.srcIp"), e))?;
    let dst_ip =
        net::parse_ipv4(&g.dst_ip).map_err(|e| EngineError::config(&format!("{path}.dstIp"), e))?;
    let frames = (0..g.flows)
        .map(|f| {
            let src = std::net::Ipv4Addr::from(u32::from(src_ip).wrapping_add(f / 256));
            let sport = 1024 + (f % 256) as u16 + ((f / 256) as u16 & 0x3f) * 256;
            net::udp4_frame(
                usize::from(g.packet_size),
                src_mac,
                dst_mac,
                src,
                dst_ip,
                sport,
                9,
            )
        })
        .collect();
    Ok(Generator {
        frames,
        burst: usize::from(g.burst),
        count: g.count,
        made,
        worker,
    })
}

/// Where a stage sits, for error paths and state keys.
struct StageSite<'a> {
    pipeline: usize,
    pipeline_slot: usize,
    name: &'a str,
    stage: usize,
    path: String,
}

/// What compiling a program accumulates across pipelines.
struct Compiler<'a> {
    names: HashMap<&'a str, u16>,
    rule_names: Vec<(usize, String, usize)>,
    segment: &'a stats::Segment,
    bridges: &'a mut BridgeTables,
    next_bridges: BridgeTables,
}

impl Compiler<'_> {
    /// Marks pipeline `i`'s input ports and returns the workers that poll them.
    fn inputs(
        &self,
        plan: &Plan,
        pc: &crate::config::PipelineConfig,
        i: usize,
        input_pipeline: &mut [Option<u16>],
    ) -> Result<Vec<usize>, EngineError> {
        let mut runners = Vec::new();
        for (k, input) in pc.input.iter().enumerate() {
            let path = format!("pipelines[{i}].input[{k}]");
            let p = self.port(&path, input)?;
            if input_pipeline[usize::from(p)].replace(i as u16).is_some() {
                return Err(EngineError::config(
                    &path,
                    format!("port {input:?} already feeds another pipeline"),
                ));
            }
            for q in 0..plan.ports[usize::from(p)].rx_queues {
                let owner = plan.owner(usize::from(p), q).ok_or_else(|| {
                    EngineError::new(
                        crate::error::ErrorCode::NeedsRestart,
                        format!("{path}: no worker polls port {input:?} (it was no pipeline's input at start); restart the engine with this config"),
                    )
                })?;
                if !runners.contains(&owner) {
                    runners.push(owner);
                }
            }
        }
        Ok(runners)
    }

    fn port(&self, path: &str, name: &str) -> Result<u16, EngineError> {
        self.names
            .get(name)
            .copied()
            .ok_or_else(|| EngineError::config(path, format!("{name:?} is not a port")))
    }

    /// One stage; `None` for stages that compile to nothing (`io`). Ports the stage can
    /// send to are added to `sends_to` for the tx-queue check.
    fn stage(
        &mut self,
        sc: &StageConfig,
        site: &StageSite<'_>,
        pc: &crate::config::PipelineConfig,
        outputs: &[u16],
        sends_to: &mut Vec<(u16, String)>,
    ) -> Result<Option<Stage>, EngineError> {
        let spath = &site.path;
        Ok(Some(match sc {
            StageConfig::Io => return Ok(None),
            StageConfig::MacRewrite { dst, src } => Stage::MacRewrite {
                dst: mac_field(&format!("{spath}.dst"), dst)?,
                src: src
                    .as_deref()
                    .map(|t| mac_field(&format!("{spath}.src"), t))
                    .transpose()?,
            },
            StageConfig::MacSwap => Stage::MacSwap,
            StageConfig::FiveTupleSwap => Stage::FiveTupleSwap,
            StageConfig::Drop => Stage::Drop,
            StageConfig::Match {
                name,
                matches,
                action,
            } => {
                let action = match action {
                    ActionConfig::Drop => Action::Drop,
                    ActionConfig::Count => Action::Count,
                    ActionConfig::Forward { port: p } | ActionConfig::Mirror { port: p } => {
                        let pi = self.port(&format!("{spath}.action.port"), p)?;
                        sends_to.push((pi, format!("{spath}.action.port")));
                        if matches!(action, ActionConfig::Forward { .. }) {
                            Action::Forward(pi)
                        } else {
                            Action::Mirror(pi)
                        }
                    }
                };
                let name = name
                    .clone()
                    .unwrap_or_else(|| format!("stage{}", site.stage));
                if self
                    .rule_names
                    .iter()
                    .any(|(p, n, _)| *p == site.pipeline && *n == name)
                {
                    return Err(EngineError::config(
                        &format!("{spath}.name"),
                        format!("{name:?} already names another match stage of this pipeline; counters are kept by name"),
                    ));
                }
                let slot = self.segment.rule_slot(site.pipeline_slot, &format!("{}/{name}", site.name)).ok_or_else(|| {
                    EngineError::config(spath, format!("the stats segment has room for {} match stages over the engine's life; restart the engine", stats::RULE_SLOTS))
                })?;
                let rule = Rule {
                    name: name.clone(),
                    matches: compile_match(&format!("{spath}.match"), matches)?,
                    action,
                    slot,
                };
                self.rule_names.push((site.pipeline, name, slot));
                Stage::Match { rules: vec![rule] }
            }
            StageConfig::Bridge { aging_s } => {
                if outputs.len() < 2 {
                    return Err(EngineError::config(
                        spath,
                        "a bridge forwards between the pipeline's output ports; give at least two",
                    ));
                }
                for (k, input) in pc.input.iter().enumerate() {
                    if !pc.output.contains(input) {
                        return Err(EngineError::config(
                            &format!("pipelines[{}].input[{k}]", site.pipeline),
                            format!("port {input:?} is bridged, so it must be an output too"),
                        ));
                    }
                }
                let key = (site.name.to_owned(), site.stage);
                let table = self.bridges.get(&key).cloned().unwrap_or_default();
                self.next_bridges.insert(key, Arc::clone(&table));
                Stage::Bridge {
                    table,
                    aging_s: u64::from(*aging_s),
                    ports: outputs.to_vec(),
                }
            }
        }))
    }
}

/// Only the engine knows each driver's tx queue count: every worker running a pipeline
/// must own a tx queue on every port the pipeline can send to.
fn check_tx_queues(
    plan: &Plan,
    facts: &PortFacts,
    runners: &[usize],
    sends_to: &[(u16, String)],
) -> Result<(), EngineError> {
    for (p, site) in sends_to {
        let queues = facts.tx_queues[usize::from(*p)];
        if let Some(&w) = runners.iter().find(|&&w| w >= usize::from(queues)) {
            return Err(EngineError::config(
                site,
                format!(
                    "port {:?} ({}) has {queues} tx queue(s), so only the first {queues} worker(s) can send to it, \
                     but this pipeline also runs on lcore {}; use fewer workers or poll its inputs from the first ones",
                    plan.ports[usize::from(*p)].name,
                    facts.drivers[usize::from(*p)],
                    plan.workers[w].lcore
                ),
            ));
        }
    }
    Ok(())
}

/// How bursts leave a pipeline with these stages.
fn flow_of(stages: &[Stage], default_out: u16) -> Flow {
    let rewrites_only = stages.iter().all(|s| {
        matches!(
            s,
            Stage::MacRewrite { .. } | Stage::MacSwap | Stage::FiveTupleSwap
        )
    });
    if matches!(stages.first(), Some(Stage::Drop)) || (rewrites_only && default_out == DROP) {
        Flow::DropAll
    } else if rewrites_only {
        Flow::Whole
    } else {
        Flow::PerPacket
    }
}

/// Compiles `config`'s pipelines against the running layout.
pub fn compile(
    config: &EngineConfig,
    plan: &Plan,
    facts: &PortFacts,
    bridges: &mut BridgeTables,
    generated: &mut Generated,
    segment: &Arc<stats::Segment>,
) -> Result<Program, EngineError> {
    let mut compiler = Compiler {
        segment,
        names: plan
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.as_str(), i as u16))
            .collect(),
        rule_names: Vec::new(),
        bridges,
        next_bridges: BridgeTables::new(),
    };
    let mut input_pipeline = vec![None; plan.ports.len()];
    let mut pipelines = Vec::with_capacity(config.pipelines.len());
    let mut generators = 0usize;
    for (i, pc) in config.pipelines.iter().enumerate() {
        let path = format!("pipelines[{i}]");
        let name = config.pipeline_name(i);
        let slot = segment.pipeline_slot(&name).ok_or_else(|| {
            EngineError::config(&format!("{path}.name"), format!("the stats segment has room for {} pipeline names over the engine's life; restart the engine", stats::PIPELINE_SLOTS))
        })?;
        // The workers this pipeline runs on: the owners of its input queues, and its generator's.
        let mut runners = compiler.inputs(plan, pc, i, &mut input_pipeline)?;
        let outputs: Vec<u16> = pc
            .output
            .iter()
            .enumerate()
            .map(|(k, o)| compiler.port(&format!("{path}.output[{k}]"), o))
            .collect::<Result<_, _>>()?;
        let default_out = outputs.first().copied().unwrap_or(DROP);
        let generator = match &pc.generator {
            None => None,
            Some(g) => {
                let worker = generators % plan.workers.len();
                generators += 1;
                if !runners.contains(&worker) {
                    runners.push(worker);
                }
                Some(compile_generator(
                    &format!("{path}.generator"),
                    g,
                    default_out,
                    facts,
                    worker,
                    Arc::clone(generated.entry(name.clone()).or_default()),
                )?)
            }
        };
        let mut sends_to: Vec<(u16, String)> = outputs
            .iter()
            .enumerate()
            .map(|(k, &o)| (o, format!("{path}.output[{k}]")))
            .collect();
        let mut stages = Vec::with_capacity(pc.stages.len());
        for (s, sc) in pc.stages.iter().enumerate() {
            let site = StageSite {
                pipeline: i,
                pipeline_slot: slot,
                name: &name,
                stage: s,
                path: format!("{path}.stages[{s}]"),
            };
            if let Some(stage) = compiler.stage(sc, &site, pc, &outputs, &mut sends_to)? {
                stages.push(stage);
            }
        }
        let needs_clock = stages.iter().any(|s| matches!(s, Stage::Bridge { .. }));
        check_tx_queues(plan, facts, &runners, &sends_to)?;
        let flow = flow_of(&stages, default_out);
        let flood_ports = if needs_clock { outputs } else { Vec::new() };
        pipelines.push(Pipeline {
            name,
            stages,
            default_out,
            flow,
            needs_clock,
            flood_ports,
            generator,
            slot,
        });
    }
    let Compiler {
        rule_names,
        bridges,
        next_bridges,
        ..
    } = compiler;
    *bridges = next_bridges;
    Ok(Program {
        pipelines,
        input_pipeline,
        port_macs: facts.macs.clone(),
        segment: Arc::clone(segment),
        rule_names,
    })
}

/// Per-burst scratch a worker lends to the stages.
#[derive(Debug)]
pub struct StageContext<'a> {
    /// Port the burst came in on (`DROP` for generated packets).
    pub in_port: u16,
    /// Seconds since the engine started (for bridge aging).
    pub now_s: u64,
    /// Copies to send after the burst: (port, packet).
    pub copies: &'a mut Vec<(u16, dpdk::Mbuf)>,
    /// Pool for copies.
    pub pool: &'a dpdk::Mempool,
    /// Where rules count.
    pub segment: &'a stats::Segment,
    /// This worker's index.
    pub worker: usize,
    /// Whether rules count their matches (`stats.counters`).
    pub counting: bool,
    /// Copies that could not be made (pool empty or copy list full).
    pub copy_failures: u64,
}

impl StageContext<'_> {
    fn copy_to(&mut self, port: u16, m: &dpdk::Mbuf) {
        if self.copies.len() == self.copies.capacity() {
            self.copy_failures += 1;
            return;
        }
        match m.deep_copy(self.pool) {
            Some(copy) => self.copies.push((port, copy)),
            None => self.copy_failures += 1,
        }
    }
}

/// How far ahead [`each_prefetched`] asks for packet headers (testpmd's macswap uses 4).
const PREFETCH_DISTANCE: usize = 4;

/// Runs `rewrite(i, bytes)` over every packet, with the headers of the packets
/// [`PREFETCH_DISTANCE`] ahead already on their way into the cache.
#[inline]
fn each_prefetched(pkts: &mut [dpdk::Mbuf], mut rewrite: impl FnMut(usize, &mut [u8])) {
    for m in pkts.iter().take(PREFETCH_DISTANCE) {
        m.prefetch_data();
    }
    for i in 0..pkts.len() {
        if let Some(ahead) = pkts.get(i + PREFETCH_DISTANCE) {
            ahead.prefetch_data();
        }
        rewrite(i, pkts[i].data_mut());
    }
}

impl Stage {
    /// Runs a header-rewriting stage over a whole burst bound for port `out` (the
    /// [`Flow::Whole`] case: no verdicts to consult). Other stages do nothing here.
    #[inline]
    pub fn rewrite_all(&self, pkts: &mut [dpdk::Mbuf], out: u16, port_macs: &[Mac]) {
        match self {
            Self::MacRewrite { src, dst } => {
                let mut header = [0u8; 12];
                header[..6].copy_from_slice(dst);
                header[6..].copy_from_slice(src.as_ref().unwrap_or(&port_macs[usize::from(out)]));
                each_prefetched(pkts, |_, d| {
                    if let Some(head) = d.first_chunk_mut::<12>() {
                        *head = header;
                    }
                });
            }
            Self::MacSwap => each_prefetched(pkts, |_, d| net::swap_macs(d)),
            Self::FiveTupleSwap => each_prefetched(pkts, |_, d| net::swap_five_tuple(d)),
            Self::Drop | Self::Match { .. } | Self::Bridge { .. } => {}
        }
    }

    /// Runs over a burst; `verdict[i]` is packet i's output port, [`DROP`] or [`FLOOD`].
    #[inline]
    pub fn run(
        &self,
        pkts: &mut [dpdk::Mbuf],
        verdict: &mut [u16],
        port_macs: &[Mac],
        ctx: &mut StageContext<'_>,
    ) {
        match self {
            Self::Drop => verdict.fill(DROP),
            Self::MacSwap => {
                each_prefetched(pkts, |i, d| {
                    if verdict[i] != DROP {
                        net::swap_macs(d);
                    }
                });
            }
            Self::FiveTupleSwap => {
                each_prefetched(pkts, |i, d| {
                    if verdict[i] != DROP {
                        net::swap_five_tuple(d);
                    }
                });
            }
            Self::MacRewrite { src, dst } => each_prefetched(pkts, |i, d| {
                let v = verdict[i];
                if v == DROP || v == FLOOD {
                    return;
                }
                if let Some(head) = d.first_chunk_mut::<12>() {
                    head[..6].copy_from_slice(dst);
                    head[6..].copy_from_slice(src.as_ref().unwrap_or(&port_macs[usize::from(v)]));
                }
            }),
            Self::Match { rules } => {
                let parse = rules.iter().any(|r| r.matches.needs_headers());
                for (m, v) in pkts.iter_mut().zip(verdict.iter_mut()) {
                    if *v == DROP {
                        continue;
                    }
                    let headers = if parse {
                        net::parse(m.data())
                    } else {
                        Headers::default()
                    };
                    let Some(rule) = rules.iter().find(|r| r.matches.matches(&headers)) else {
                        continue;
                    };
                    if ctx.counting {
                        bump(ctx.segment.rule_counter(ctx.worker, rule.slot), 1);
                    }
                    match rule.action {
                        Action::Drop => *v = DROP,
                        Action::Count => {}
                        Action::Forward(p) => *v = p,
                        Action::Mirror(p) => ctx.copy_to(p, m),
                    }
                }
            }
            Self::Bridge {
                table,
                aging_s,
                ports,
            } => {
                for (m, v) in pkts.iter_mut().zip(verdict.iter_mut()) {
                    if *v == DROP {
                        continue;
                    }
                    let d = m.data();
                    if d.len() < 14 {
                        *v = DROP;
                        continue;
                    }
                    let dst: Mac = d[..6].try_into().unwrap_or_default();
                    let src: Mac = d[6..12].try_into().unwrap_or_default();
                    if src[0] & 1 == 0 && ctx.in_port != DROP {
                        table.learn(src, ctx.in_port, ctx.now_s);
                    }
                    *v = if dst[0] & 1 == 1 {
                        FLOOD
                    } else {
                        match table.lookup(dst, ctx.now_s, *aging_s) {
                            Some(p) if p == ctx.in_port => DROP,
                            Some(p) if ports.contains(&p) => p,
                            _ => FLOOD,
                        }
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generator(count: Option<u64>, made: &Arc<AtomicU64>) -> Generator {
        Generator {
            frames: vec![vec![0; 60]],
            burst: 32,
            count,
            made: Arc::clone(made),
            worker: 0,
        }
    }

    #[test]
    fn a_generator_budget_holds_across_programs() {
        let made = Arc::new(AtomicU64::new(0));
        let (old, new) = (generator(Some(100), &made), generator(Some(100), &made));
        // Two programs sharing one budget (the moment of a swap) never make more than `count`.
        assert_eq!(
            [
                old.claim(32),
                new.claim(32),
                old.claim(32),
                new.claim(32),
                old.claim(32)
            ],
            [32, 32, 32, 4, 0]
        );
        assert_eq!(made.load(Relaxed), 100);
        let unlimited = generator(None, &Arc::new(AtomicU64::new(0)));
        assert_eq!(unlimited.claim(32), 32);
    }

    #[test]
    fn flows_follow_the_stages() {
        assert_eq!(flow_of(&[], 1), Flow::Whole);
        assert_eq!(
            flow_of(&[Stage::MacSwap, Stage::FiveTupleSwap], 1),
            Flow::Whole
        );
        assert_eq!(flow_of(&[Stage::MacSwap], DROP), Flow::DropAll);
        assert_eq!(flow_of(&[Stage::Drop, Stage::MacSwap], 1), Flow::DropAll);
        assert_eq!(flow_of(&[Stage::MacSwap, Stage::Drop], 1), Flow::PerPacket);
    }
}
