//! What the acl stage adds to a memory plan.

use serde_json::json;

use crate::config::EngineConfig;
use crate::stages::StageConfig;

fn decode(stages: &serde_json::Value) -> EngineConfig {
    let config = json!({
        "ports": { "a": { "null": {} }, "b": { "null": {} } },
        "lcores": { "workers": [1] },
        "memory": { "hugepages": false },
        "pipelines": [{ "input": "a", "stages": stages, "output": "b" }]
    });
    let bytes =
        rmp_serde::to_vec_named(&json!({ "version": crate::SCHEMA_VERSION, "config": config }))
            .unwrap();
    EngineConfig::from_msgpack(&bytes).unwrap()
}

#[test]
fn the_memory_plan_holds_two_of_each_classifier() {
    let acl = json!({ "kind": "acl", "rules": [
        { "src": "10.0.0.0/8", "action": "drop" },
        { "src": "2001:db8::/32", "action": "count" }
    ]});
    let with = decode(&json!([acl]));
    let without = decode(&json!([]));
    let plan = |c: &EngineConfig| crate::plan::memory_plan(c, &[], 1, 4096);
    let StageConfig::Acl(stage) = &with.pipelines[0].stages[0] else {
        panic!("an acl stage")
    };
    let bytes = super::table_bytes(stage);
    assert!(bytes > 8 << 20, "{bytes}");
    assert_eq!(plan(&with).table_bytes, 2 * bytes);
    assert_eq!(plan(&without).table_bytes, 0);
    assert_eq!(
        plan(&with).heap_bytes - plan(&without).heap_bytes,
        2 * bytes
    );
}
