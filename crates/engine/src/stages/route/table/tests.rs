//! What a route table refuses before DPDK is asked anything.

use super::*;
use crate::stages::route::parse_prefix;

/// A table with no room in either family holds no DPDK table, so it needs no EAL: what
/// refuses a batch is checked before DPDK is asked anything.
fn roomless() -> RouteTable {
    let config: RouteConfig = serde_json::from_value(serde_json::json!({
        "nextHops": { "up": { "port": "a", "dstMac": "02:00:00:00:00:01" } }
    }))
    .unwrap();
    let room = Capacity { v4: 0, v6: 0 };
    RouteTable::new(config, vec!["up".into()], room, 1, BTreeMap::new()).unwrap()
}

#[test]
fn a_batch_for_a_family_without_a_table_is_refused_whole_naming_the_family() {
    let table = roomless();
    let edit = |at, prefix, hop| Edit {
        at,
        prefix: parse_prefix(prefix).unwrap(),
        hop,
    };
    let edits = [
        edit(At::Route(0), "2001:db8::/32", Some(0)),
        edit(At::Prefix(1), "10.0.0.0/8", None),
    ];
    let refused = table.change(&edits, &|| true, &mut |_, _| {});
    assert_eq!(
        refused,
        Err(Refused::Edits(vec![
            "routes[0]: 2001:db8::/32 is IPv6, and this stage has no IPv6 table; give it a route of that family in its config, or set maxRoutes.ipv6".into(),
            "prefixes[1]: 10.0.0.0/8 is not routed".into(),
        ]))
    );
    assert_eq!(table.size(), Capacity { v4: 0, v6: 0 });
    assert_eq!(table.list(None, 10), (Vec::new(), false));
}
