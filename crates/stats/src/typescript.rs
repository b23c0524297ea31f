//! Renders `packages/types/src/segment-layout.ts`: the layout constants, the catalogue, and
//! the snapshot types derived from the catalogue, so that TypeScript never restates a number
//! or a counter name. `cargo test -p stats` checks the committed file against this rendering
//! (and rewrites it with `FASTPATH_WRITE_LAYOUT=1`).

use std::fmt::Write as _;

use crate::catalogue::{EntryDef, CATALOGUE};
use crate::layout::{
    entry, flags, header, sample, Kind, ELEMENT_NAME_LEN, ELEMENT_PARENT, ELEMENT_SIZE,
    ENGINE_NAME_LEN, ENTRY_SIZE, FLAG_FAILED, FLAG_STOPPED, HEADER_SIZE, HISTOGRAM_BUCKETS,
    HISTOGRAM_HEADER, HISTOGRAM_SUB_BITS, LAYOUT_VERSION, MAX_ENTRIES, SAMPLE_HEADER,
    SAMPLE_PERIOD_MS, SAMPLE_PORT, WORKER_OBJECT,
};

fn pascal(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_ascii_uppercase().to_string() + chars.as_str()
    })
}

fn object_type(object: &str) -> String {
    format!("{}Stats", pascal(object))
}

/// A field's TypeScript type and whether it may be absent.
fn field_type(d: &EntryDef) -> &'static str {
    if d.flags & flags::REF != 0 {
        "string | null"
    } else if d.flags & flags::OPTIONAL != 0 {
        "number | null"
    } else {
        "number"
    }
}

fn doc(out: &mut String, indent: &str, help: &str) {
    let _ = writeln!(out, "{indent}/** {help} */");
}

/// The module's text.
#[allow(clippy::too_many_lines)] // one template
pub fn render() -> String {
    let mut out = String::new();
    out.push_str("/**\n * The stats segment's byte layout and entry catalogue, generated from crates/stats\n");
    out.push_str(" * (src/typescript.rs). Do not edit: `cargo test -p stats` fails when this file is stale and\n");
    out.push_str(" * `FASTPATH_WRITE_LAYOUT=1 cargo test -p stats` rewrites it. docs/stats-layout.md explains it.\n */\n\n");
    let consts: [(&str, String); 17] = [
        ("MAGIC", "'FPSTATS1'".into()),
        ("LAYOUT_VERSION", LAYOUT_VERSION.to_string()),
        ("HEADER_SIZE", HEADER_SIZE.to_string()),
        ("ENTRY_SIZE", ENTRY_SIZE.to_string()),
        ("ENGINE_NAME_LEN", ENGINE_NAME_LEN.to_string()),
        ("ELEMENT_NAME_LEN", ELEMENT_NAME_LEN.to_string()),
        ("ELEMENT_PARENT", ELEMENT_PARENT.to_string()),
        ("ELEMENT_SIZE", ELEMENT_SIZE.to_string()),
        ("MAX_ENTRIES", MAX_ENTRIES.to_string()),
        ("FLAG_STOPPED", FLAG_STOPPED.to_string()),
        ("FLAG_FAILED", FLAG_FAILED.to_string()),
        ("SAMPLE_HEADER", SAMPLE_HEADER.to_string()),
        ("SAMPLE_PORT", SAMPLE_PORT.to_string()),
        ("SAMPLE_PERIOD_MS", SAMPLE_PERIOD_MS.to_string()),
        ("HISTOGRAM_SUB_BITS", HISTOGRAM_SUB_BITS.to_string()),
        ("HISTOGRAM_HEADER", HISTOGRAM_HEADER.to_string()),
        ("HISTOGRAM_BUCKETS", HISTOGRAM_BUCKETS.to_string()),
    ];
    for (name, value) in consts {
        let _ = writeln!(out, "export const {name} = {value};");
    }
    let _ = writeln!(out, "/** The object whose elements are the worker lcores (copy w of a per-worker entry is its element w). */");
    let _ = writeln!(out, "export const WORKER_OBJECT = '{WORKER_OBJECT}';\n");

    let header_fields: [(&str, usize); 14] = [
        ("MAGIC", header::MAGIC),
        ("VERSION", header::VERSION),
        ("HEADER_SIZE", header::HEADER_SIZE),
        ("SEGMENT_SIZE", header::SEGMENT_SIZE),
        ("PID", header::PID),
        ("FLAGS", header::FLAGS),
        ("START_NS", header::START_NS),
        ("HEARTBEAT_NS", header::HEARTBEAT_NS),
        ("STRUCTURE_SEQ", header::STRUCTURE_SEQ),
        ("DIRECTORY_OFFSET", header::DIRECTORY_OFFSET),
        ("DIRECTORY_COUNT", header::DIRECTORY_COUNT),
        ("WORKERS", header::WORKERS),
        ("PORTS", header::PORTS),
        ("SAMPLES_WRITTEN", header::SAMPLES_WRITTEN),
    ];
    out.push_str("/** Header field offsets. */\nexport const header = {\n");
    for (name, at) in header_fields {
        let _ = writeln!(out, "  {name}: {at},");
    }
    let _ = writeln!(out, "  NAME: {},\n}} as const;\n", header::NAME);

    let entry_fields: [(&str, usize); 14] = [
        ("NAME", entry::NAME),
        ("NAME_LEN", entry::NAME_LEN),
        ("KIND", entry::KIND),
        ("FLAGS", entry::FLAGS),
        ("COUNT", entry::COUNT),
        ("STRIDE", entry::STRIDE),
        ("COPIES", entry::COPIES),
        ("OFFSET", entry::OFFSET),
        ("COPY_STRIDE", entry::COPY_STRIDE),
        ("LINK", entry::LINK),
        ("LINK_LEN", entry::LINK_LEN),
        ("HELP", entry::HELP),
        ("HELP_LEN", entry::HELP_LEN),
        ("SIZE", ENTRY_SIZE),
    ];
    out.push_str("/** Directory entry field offsets. */\nexport const entry = {\n");
    for (name, at) in entry_fields {
        let _ = writeln!(out, "  {name}: {at},");
    }
    out.push_str("} as const;\n\n/** Sample slot field offsets: the header's from the slot, a port's from its triple. */\nexport const sample = {\n");
    for (name, at) in [
        ("SEQUENCE", sample::SEQUENCE),
        ("TIME", sample::TIME),
        ("RX", sample::RX),
        ("TX", sample::TX),
        ("DROPS", sample::DROPS),
    ] {
        let _ = writeln!(out, "  {name}: {at},");
    }
    out.push_str("} as const;\n\n/** Entry kinds: how a reader decodes an entry. */\nexport const Kind = {\n");
    for k in Kind::ALL {
        let _ = writeln!(out, "  {}: {},", k.name(), k as u8);
    }
    out.push_str("} as const;\n\n/** Entry flags. */\nexport const flags = {\n");
    for (name, value) in [
        ("GAUGE", flags::GAUGE),
        ("BY_WORKER", flags::BY_WORKER),
        ("REF", flags::REF),
        ("OPTIONAL", flags::OPTIONAL),
        ("STATIC", flags::STATIC),
    ] {
        let _ = writeln!(out, "  {name}: {value},");
    }
    out.push_str("} as const;\n\n/** Every entry an engine writes (crates/stats/src/catalogue.rs). */\nexport const CATALOGUE = [\n");
    for d in CATALOGUE {
        let _ = writeln!(
            out,
            "  {{ name: {:?}, kind: Kind.{}, flags: {}, link: {:?}, help: {:?} }},",
            d.name,
            d.kind.name(),
            d.flags,
            d.link,
            d.help
        );
    }
    out.push_str("] as const;\n\n");

    out.push_str("/** A histogram entry's value in a row: nanoseconds (nulls when nothing was counted). */\nexport interface HistogramSummary {\n  count: number;\n  minNs: number | null;\n  p50Ns: number | null;\n  p90Ns: number | null;\n  p99Ns: number | null;\n  p999Ns: number | null;\n  maxNs: number | null;\n}\n\n");
    // Snapshot types: one interface per object, its fields from its counters, its children.
    let objects: Vec<&EntryDef> = CATALOGUE.iter().filter(|d| d.kind == Kind::Names).collect();
    for o in &objects {
        doc(&mut out, "", o.help);
        let _ = writeln!(out, "export interface {} {{", object_type(o.name));
        out.push_str("  name: string;\n");
        for d in CATALOGUE.iter().filter(|d| d.kind == Kind::Counter) {
            let (object, field) = d.name.split_once('/').unwrap_or_default();
            if object == o.name {
                doc(&mut out, "  ", d.help);
                let _ = writeln!(out, "  {field}: {};", field_type(d));
            } else if o.name == WORKER_OBJECT && d.flags & flags::BY_WORKER != 0 {
                doc(&mut out, "  ", &format!(
                        "{} (summed over this worker's {object}s; absent when workers do not count).",
                        d.help.trim_end_matches('.')
                    ));
                let _ = writeln!(out, "  {field}?: number;");
            }
        }
        for d in CATALOGUE.iter().filter(|d| d.kind == Kind::Histogram) {
            let (object, field) = d.name.split_once('/').unwrap_or_default();
            if object == o.name {
                doc(&mut out, "  ", d.help);
                let _ = writeln!(out, "  {field}: HistogramSummary;");
            }
        }
        for child in objects.iter().filter(|c| c.link == o.name) {
            let _ = writeln!(out, "  {}s: {}[];", child.name, object_type(child.name));
        }
        out.push_str("}\n\n");
    }
    let mut groups: Vec<&str> = Vec::new();
    for d in CATALOGUE.iter().filter(|d| d.kind == Kind::Scalar) {
        if let Some((group, _)) = d.name.split_once('/') {
            if !groups.contains(&group) {
                groups.push(group);
            }
        }
    }
    for g in &groups {
        let _ = writeln!(
            out,
            "/** The `{g}/…` scalars. */\nexport interface {}Scalars {{",
            pascal(g)
        );
        for d in CATALOGUE.iter().filter(|d| d.kind == Kind::Scalar) {
            if let Some((group, field)) = d.name.split_once('/') {
                if group == *g {
                    doc(&mut out, "  ", d.help);
                    let _ = writeln!(out, "  {field}: {};", field_type(d));
                }
            }
        }
        out.push_str("}\n\n");
    }
    out.push_str("/**\n * Every quantity an engine's segment holds, decoded by kind: what `engine.stats()`,\n");
    out.push_str(" * `StatsReader.snapshot()` and `fastpath stats --json` report.\n */\nexport interface EngineStats {\n");
    out.push_str(
        "  /** The engine's name (its EAL file prefix). */\n  name: string;\n  pid: number;\n",
    );
    out.push_str("  /** Not stopped, and its heartbeat is under 2 s old. */\n  alive: boolean;\n");
    out.push_str("  /** A worker's loop failed (see `failure`): the engine runs on without it; stop it. */\n  failed: boolean;\n");
    out.push_str("  /** From the workers' start to the last heartbeat (10 ms steps; frozen once stopped). */\n  uptimeNs: number;\n");
    for d in CATALOGUE {
        match d.kind {
            Kind::Scalar if !d.name.contains('/') => {
                doc(&mut out, "  ", d.help);
                let _ = writeln!(out, "  {}: {};", d.name, field_type(d));
            }
            Kind::Text => {
                doc(&mut out, "  ", d.help);
                let _ = writeln!(out, "  {}?: string;", d.name);
            }
            _ => {}
        }
    }
    for g in &groups {
        let _ = writeln!(out, "  {g}: {}Scalars;", pascal(g));
    }
    for o in objects.iter().filter(|o| o.link.is_empty()) {
        doc(&mut out, "  ", o.help);
        let _ = writeln!(out, "  {}s: {}[];", o.name, object_type(o.name));
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_typescript_module_is_current() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../packages/types/src/segment-layout.ts"
        );
        let rendered = super::render();
        if std::env::var_os("FASTPATH_WRITE_LAYOUT").is_some() {
            std::fs::write(path, &rendered).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == rendered,
            "packages/types/src/segment-layout.ts is stale: run FASTPATH_WRITE_LAYOUT=1 cargo test -p stats and commit it"
        );
    }
}
