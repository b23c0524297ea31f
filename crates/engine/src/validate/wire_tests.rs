//! What the wire (msgpack, through the binding's decoder) takes, and how paths and quoted
//! strings read: as the TypeScript side writes them.

use serde_json::{json, Value as Json};

use super::tests::{base, encode};
use super::{key, problems_in};
use crate::net::quote;

/// `base()` with the value at `at` (object keys, array indexes as text) set to `value`.
fn base_with(at: &[&str], value: Json) -> Json {
    let mut config = base();
    let (last, parents) = at.split_last().unwrap();
    let mut node = &mut config;
    for step in parents {
        node = match step.parse::<usize>() {
            Ok(i) => &mut node[i],
            Err(_) => &mut node[*step],
        };
    }
    match last.parse::<usize>() {
        Ok(i) => node[i] = value,
        Err(_) => node[*last] = value,
    }
    config
}

#[test]
fn the_wire_takes_what_the_schema_takes_and_nothing_else() {
    let decodes = |config: &Json| crate::EngineConfig::decode(&encode(config)).is_ok();
    let stages = ["pipelines", "0", "stages"];
    // Shorthands the schema writes, `kind` anywhere in a stage.
    assert!(decodes(&base_with(
        &stages,
        json!(["io", "macSwap", "fiveTupleSwap", "drop"])
    )));
    assert!(decodes(&base_with(
        &stages,
        json!([{ "action": "drop", "match": { "proto": 17, "srcPort": 9 }, "kind": "match" }])
    )));
    // What it refuses: a struct as an array, null for an optional field, unknown fields, a
    // stage with fields by name alone, a float or an out-of-range number, a wrong type.
    let refused = [
        (&["ports", "a", "ring"][..], json!([])),
        (&["lcores"], json!([[1]])),
        (&["ports", "a", "mtu"], Json::Null),
        (&["ports", "a", "name"], json!("x")),
        (&["pipelines", "0", "priority"], json!(3)),
        (&stages, json!(["bridge"])),
        (&stages, json!([{ "kind": "drop", "x": 1 }])),
        (&stages, json!([["drop"]])),
        (
            &stages,
            json!([{ "kind": "match", "match": {}, "action": { "forward": "b", "mirror": "a" } }]),
        ),
        (
            &stages,
            json!([{ "kind": "match", "match": { "proto": "gre" }, "action": "drop" }]),
        ),
        (
            &stages,
            json!([{ "kind": "match", "match": { "dstPort": [1, 2, 3] }, "action": "drop" }]),
        ),
        (&["ports", "a", "queues"], json!(1.5)),
        (&["ports", "a", "queues"], json!(65536)),
        (&["lcores", "workers"], json!([-1])),
        (&["pipelines", "0", "input"], json!(1)),
        (&["eal"], json!({ "iovaMode": "pa" })),
        (&["stats"], json!({ "group": 4_294_967_296_u64 })),
    ];
    for (at, value) in refused {
        let config = base_with(at, value);
        assert!(!decodes(&config), "{config}");
    }
    let mut no_pipelines = base();
    no_pipelines.as_object_mut().unwrap().remove("pipelines");
    assert!(!decodes(&no_pipelines));
    let old = rmp_serde::to_vec_named(&json!({ "version": 2, "config": base() })).unwrap();
    assert_eq!(
        problems_in(&old)[0].line(),
        "version: schema version 2 is not supported by this engine (it reads version 3); use matching @fastpath/control and native binding"
    );
    assert_eq!(problems_in(b"\xc1")[0].path, "");
}

#[test]
fn paths_and_quotes_read_as_typescript_writes_them() {
    assert_eq!(key("ports", "a-1"), "ports.a-1");
    assert_eq!(key("ports", "1a"), "ports[\"1a\"]");
    assert_eq!(key("ports", "a b"), "ports[\"a b\"]");
    assert_eq!(key("", "$x"), "$x");
    assert_eq!(
        quote("a\"b\\c\n\u{1}\u{7f}é"),
        "\"a\\\"b\\\\c\\n\\u0001\u{7f}é\""
    );
}
