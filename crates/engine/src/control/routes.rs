//! Route requests: find the table, turn items and route file text into one batch of edits
//! (every problem named by item or line, nothing applied if there is one), make the change
//! through the table's double buffer, and answer.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};
use stats::Scalar;

use super::{Failure, Live, Progress, Request};
use crate::error::{EngineError, ErrorCode};
use crate::net::quote;
use crate::stages::route::{
    file, parse_prefix, At, Capacity, Edit, Refused, RouteEntryConfig, RouteTable,
};

/// Routes a `routes.list` page holds at most (and by default).
pub const PAGE: usize = 10_000;

/// How long a change waits for every worker to pass a burst boundary.
const GRACE_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) fn handle(
    live: &mut Live,
    request: Request,
    progress: Progress<'_>,
) -> Result<Json, Failure> {
    match request {
        Request::Tables => {
            let mut tables: Vec<_> = live
                .routes
                .iter()
                .map(|(key, table)| describe(key, table, &names(&live.routes)))
                .collect();
            tables.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
            Ok(json!({ "tables": tables }))
        }
        Request::Add {
            table,
            routes,
            text,
        } => {
            let (name, t) = find(live, table.as_deref())?;
            let edits = adds(&t, &routes, text.as_deref())?;
            change(live, &name, &t, &edits, progress)
        }
        Request::Delete {
            table,
            prefixes,
            text,
        } => {
            let (name, t) = find(live, table.as_deref())?;
            let edits = deletes(&prefixes, text.as_deref())?;
            change(live, &name, &t, &edits, progress)
        }
        Request::Lookup { table, addresses } => {
            let (name, t) = find(live, table.as_deref())?;
            let mut results = Vec::with_capacity(addresses.len());
            let mut problems = Vec::new();
            for (i, address) in addresses.iter().enumerate() {
                match address.trim().parse::<IpAddr>() {
                    Ok(addr) => {
                        let (prefix, hop) = t.lookup(addr);
                        results.push(json!({
                            "address": addr.to_string(),
                            "prefix": prefix.map(|p| p.to_string()),
                            "via": t.hop_names.get(hop as usize),
                        }));
                    }
                    Err(_) => problems.push(format!(
                        "addresses[{i}]: {} is not an IPv4 or IPv6 address",
                        quote(address)
                    )),
                }
            }
            if !problems.is_empty() {
                return Err(Failure::problems(ErrorCode::Route, problems));
            }
            Ok(json!({ "table": name, "results": results }))
        }
        Request::List {
            table,
            after,
            limit,
        } => {
            let (name, t) = find(live, table.as_deref())?;
            let after = after
                .as_deref()
                .map(parse_prefix)
                .transpose()
                .map_err(|why| refused(format!("after: {why}")))?;
            let limit = limit.unwrap_or(PAGE).clamp(1, PAGE);
            let (page, more) = t.list(after, limit);
            let next = more
                .then(|| page.last().map(|(p, _)| p.to_string()))
                .flatten();
            let routes: Vec<_> = page
                .iter()
                .map(|(p, hop)| json!({ "prefix": p.to_string(), "via": t.hop_names[*hop as usize] }))
                .collect();
            Ok(json!({ "table": name, "routes": routes, "next": next }))
        }
        // Answered by control/capture.rs (Control::handle_in sends them there).
        Request::CaptureStart(_) | Request::CaptureStop { .. } | Request::CaptureList => {
            Err(refused("not a route request".to_owned()))
        }
    }
}

fn refused(message: String) -> Failure {
    EngineError::new(ErrorCode::Route, message).into()
}

/// Each table's name: its stage's name where no other pipeline has a route stage of that
/// name, else `pipeline/stage`.
fn names(tables: &crate::compile::RouteTables) -> HashMap<(String, String), String> {
    let mut stages: HashMap<&str, usize> = HashMap::new();
    for (_, stage) in tables.keys() {
        *stages.entry(stage).or_default() += 1;
    }
    tables
        .keys()
        .map(|key @ (pipeline, stage)| {
            let name = if stages[stage.as_str()] == 1 {
                stage.clone()
            } else {
                format!("{pipeline}/{stage}")
            };
            (key.clone(), name)
        })
        .collect()
}

/// The table a request names (by its name, or `pipeline/stage`; any when there is one).
fn find(live: &Live, table: Option<&str>) -> Result<(String, Arc<RouteTable>), Failure> {
    let names = names(&live.routes);
    let mut all: Vec<&str> = names.values().map(String::as_str).collect();
    all.sort_unstable();
    let listed = if all.is_empty() {
        "this engine has none: a config's route stages make them".to_owned()
    } else {
        format!("tables: {}", all.join(", "))
    };
    let found = live
        .routes
        .iter()
        .find(|(key @ (pipeline, stage), _)| match table {
            None => live.routes.len() == 1,
            Some(name) => names[*key] == name || format!("{pipeline}/{stage}") == name,
        });
    match (found, table) {
        (Some((key, t)), _) => Ok((names[key].clone(), Arc::clone(t))),
        (None, None) if !live.routes.is_empty() => Err(refused(format!(
            "this engine has {} route tables: name one ({listed})",
            live.routes.len()
        ))),
        (None, None) => Err(refused(format!("no route table: {listed}"))),
        (None, Some(name)) => Err(refused(format!(
            "{} is not a route table ({listed})",
            quote(name)
        ))),
    }
}

fn describe(
    key: &(String, String),
    t: &RouteTable,
    names: &HashMap<(String, String), String>,
) -> Json {
    let families = |c: Capacity| json!({ "ipv4": c.v4, "ipv6": c.v6 });
    json!({
        "name": names[key],
        "pipeline": key.0,
        "stage": key.1,
        "size": families(t.size()),
        "room": families(t.capacity),
        "nextHops": t.hop_names,
        "default": t.hop_names.get(t.miss as usize),
    })
}

/// The edits that add `routes` and `text`'s routes, or every problem.
fn adds(
    t: &RouteTable,
    routes: &[RouteEntryConfig],
    text: Option<&str>,
) -> Result<Vec<Edit>, Failure> {
    let mut edits = Vec::with_capacity(routes.len());
    let mut problems = Vec::new();
    let hop = |via: &str| {
        t.hop_names
            .iter()
            .position(|h| h == via)
            .map(|i| i as u32)
            .ok_or_else(|| {
                format!(
                    "{} is not a next hop of this table (nextHops: {}); next hops change with the config",
                    quote(via),
                    t.hop_names.join(", ")
                )
            })
    };
    for (i, route) in routes.iter().enumerate() {
        let at = At::Route(i);
        match (parse_prefix(&route.prefix), hop(&route.via)) {
            (Ok(prefix), Ok(hop)) => edits.push(Edit {
                at,
                prefix,
                hop: Some(hop),
            }),
            (prefix, hop) => {
                problems.extend(prefix.err().map(|why| format!("{at}.prefix: {why}")));
                problems.extend(hop.err().map(|why| format!("{at}.via: {why}")));
            }
        }
    }
    if let Some(text) = text {
        match file::parse(text) {
            Err(lines) => problems.extend(lines),
            Ok(lines) => {
                for l in lines {
                    match hop(&l.via) {
                        Ok(hop) => edits.push(Edit {
                            at: At::Line(l.line),
                            prefix: l.prefix,
                            hop: Some(hop),
                        }),
                        Err(why) => problems.push(format!("line {}: {why}", l.line)),
                    }
                }
            }
        }
    }
    once_each(&edits, &mut problems);
    if problems.is_empty() {
        Ok(edits)
    } else {
        Err(Failure::problems(ErrorCode::Route, problems))
    }
}

/// The edits that delete `prefixes` and `text`'s prefixes, or every problem.
fn deletes(prefixes: &[String], text: Option<&str>) -> Result<Vec<Edit>, Failure> {
    let mut edits = Vec::with_capacity(prefixes.len());
    let mut problems = Vec::new();
    for (i, prefix) in prefixes.iter().enumerate() {
        match parse_prefix(prefix) {
            Ok(prefix) => edits.push(Edit {
                at: At::Prefix(i),
                prefix,
                hop: None,
            }),
            Err(why) => problems.push(format!("prefixes[{i}]: {why}")),
        }
    }
    if let Some(text) = text {
        match file::prefixes(text) {
            Err(lines) => problems.extend(lines),
            Ok(found) => edits.extend(found.into_iter().map(|(line, prefix)| Edit {
                at: At::Line(line),
                prefix,
                hop: None,
            })),
        }
    }
    once_each(&edits, &mut problems);
    if problems.is_empty() {
        Ok(edits)
    } else {
        Err(Failure::problems(ErrorCode::Route, problems))
    }
}

/// A prefix given twice in one change is a mistake to point at, not an order to guess.
fn once_each(edits: &[Edit], problems: &mut Vec<String>) {
    let mut by_prefix: Vec<&Edit> = edits.iter().collect();
    by_prefix.sort_by_key(|e| e.prefix); // stable: each run starts with its first edit
    for pair in by_prefix.windows(2) {
        if pair[0].prefix == pair[1].prefix {
            problems.push(format!(
                "{}: {} is given twice in this change (also {}); keep one",
                pair[1].at, pair[1].prefix, pair[0].at
            ));
        }
    }
}

fn change(
    live: &Live,
    name: &str,
    t: &RouteTable,
    edits: &[Edit],
    progress: Progress<'_>,
) -> Result<Json, Failure> {
    let started = Instant::now();
    let shared = &live.shared;
    let grace = || shared.publisher.synchronize(GRACE_TIMEOUT).is_ok();
    let result = t.change(edits, &grace, progress);
    shared
        .segment
        .set(Scalar::Generation, shared.publisher.generation());
    let changed = match result {
        Ok(changed) => changed,
        Err(Refused::Edits(problems)) => return Err(Failure::problems(ErrorCode::Route, problems)),
        Err(Refused::Table(why)) => {
            return Err(refused(format!(
                "{why}: DPDK could not make the change (nothing of it was applied); the table may need more of EAL's memory or room (maxRoutes)"
            )))
        }
        Err(Refused::Stuck) => {
            return Err(EngineError::new(
                ErrorCode::Internal,
                "a worker did not pass a burst boundary within 5 s after a route change (the change took effect on the others); this is a bug: please report it",
            )
            .into())
        }
    };
    let size = t.size();
    Ok(json!({
        "table": name,
        "added": changed.added,
        "replaced": changed.replaced,
        "deleted": changed.deleted,
        "size": { "ipv4": size.v4, "ipv6": size.v6 },
        "ms": started.elapsed().as_secs_f64() * 1e3,
    }))
}
