//! The route stage config's rules, each problem at its path.

use serde_json::{json, Value as Json};

use super::*;

use crate::validate::stage_problems as lines;

#[test]
fn a_good_route_stage_has_no_problems() {
    let stage = json!({
        "kind": "route", "name": "core",
        "routes": [
            { "prefix": "0.0.0.0/0", "via": "up" },
            { "prefix": "198.18.0.0/15", "via": "up" },
            { "prefix": "198.18.7.0/24", "via": "side" },
            { "prefix": "2001:db8::/32", "via": "side" },
            { "prefix": "10.1.2.3", "via": "side" }
        ],
        "nextHops": {
            "up": { "port": "b", "dstMac": "02:00:00:00:00:01" },
            "side": { "port": "a", "dstMac": "02:00:00:00:00:02", "srcMac": "02:00:00:00:00:03" }
        },
        "default": "up"
    });
    assert_eq!(lines(&stage), Vec::<String>::new());
}

#[test]
fn every_problem_is_reported_at_its_path() {
    let at = "pipelines[0].stages[0]";
    let not_a_hop =
        "is not a next hop of this stage (nextHops: x); add it to nextHops or fix the name";
    let stage = json!({
        "kind": "route", "name": "",
        "routes": [
            { "prefix": "198.18.0.1/24", "via": "x" },
            { "prefix": "10.0.0.0/8", "via": "nowhere" },
            { "prefix": "10.0.0.0/8", "via": "x" },
            { "prefix": "10.0.0.0/40", "via": "x" },
            { "prefix": "2001:db8::/32", "via": "x" },
            { "prefix": "2001:0db8::/32", "via": "x" }
        ],
        "nextHops": { "x": { "port": "c", "dstMac": "02:00:00:00:00:0g", "srcMac": "02:00:00:00:00:01" } },
        "default": "y"
    });
    let got = lines(&stage);
    let want = [
        format!("{at}.name: \"\" Too small: expected string to have >=1 characters"),
        format!("{at}.nextHops.x.port: \"c\" is not a port (ports: a, b)"),
        format!("{at}.default: \"y\" {not_a_hop}"),
        format!("{at}.routes[0].prefix: \"198.18.0.1/24\" has host bits set; write 198.18.0.0/24"),
        format!("{at}.routes[1].via: \"nowhere\" {not_a_hop}"),
        format!(
            "{at}.routes[2].prefix: 10.0.0.0/8 is routed already by routes[1]; keep one of them"
        ),
        format!("{at}.routes[3].prefix: \"10.0.0.0/40\" is not a valid IPv4 prefix"),
        format!(
            "{at}.routes[5].prefix: 2001:db8::/32 is routed already by routes[4]; keep one of them"
        ),
    ];
    for line in &want {
        assert!(got.contains(line), "missing {line}\n{got:#?}");
    }
    assert!(
        got.iter()
            .any(|l| l.starts_with(&format!("{at}.nextHops.x.dstMac: "))),
        "{got:#?}"
    );
    assert_eq!(got.len(), want.len() + 1, "{got:#?}");
}

#[test]
fn a_routes_file_is_checked_line_by_line_with_the_inline_routes() {
    let dir = std::env::temp_dir().join(format!("fastpath-routes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("routes.txt");
    std::fs::write(
        &file,
        "R198.18.0.0/24 0\n10.0.0.1/8 x\n198.18.0.0/24 x\nR2001:db8::/32 7\n",
    )
    .unwrap();
    let stage = |extra: Json| {
        let mut stage = json!({
            "kind": "route",
            "routes": [{ "prefix": "198.18.0.0/24", "via": "x" }],
            "routesFile": file.display().to_string(),
            "nextHops": {
                "0": { "port": "a", "dstMac": "02:00:00:00:00:01" },
                "x": { "port": "b", "dstMac": "02:00:00:00:00:02" }
            }
        });
        stage
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        lines(&stage)
    };
    let at = "pipelines[0].stages[0]";
    assert_eq!(
        stage(json!({})),
        [format!(
            "{at}.routesFile: line 2: \"10.0.0.1/8\" has host bits set; write 10.0.0.0/8"
        )]
    );
    std::fs::write(
        &file,
        "R198.18.0.0/24 0\n198.18.0.0/24 x\nR2001:db8::/32 7\n",
    )
    .unwrap();
    assert_eq!(
        stage(json!({ "maxRoutes": { "ipv4": 1, "ipv6": 0 } })),
        [
            format!("{at}.routesFile: line 1: 198.18.0.0/24 is routed already by routes[0]; keep one of them"),
            format!("{at}.routesFile: line 2: 198.18.0.0/24 is routed already by routes[0]; keep one of them"),
            format!("{at}.routesFile: line 3: \"7\" is not a next hop of this stage (nextHops: 0, x); add it to nextHops or fix the name"),
            format!("{at}.maxRoutes.ipv4: 1 is fewer than the 3 IPv4 routes the config gives; raise it or leave it out"),
            format!("{at}.maxRoutes.ipv6: 0 is out of range: a table holds 1 to 16777216 routes"),
        ]
    );
    std::fs::remove_file(&file).unwrap();
    let missing = stage(json!({}));
    assert_eq!(missing.len(), 1);
    assert!(
        missing[0].starts_with(&format!(
            "{at}.routesFile: could not read \"{}\"",
            file.display()
        )),
        "{missing:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn room_is_the_config_rounded_up_or_max_routes() {
    let config: RouteConfig = serde_json::from_value(json!({
        "routes": (0..1500).map(|i| json!({ "prefix": format!("10.{}.{}.0/24", i / 256, i % 256), "via": "x" })).chain([json!({ "prefix": "2001:db8::/32", "via": "x" })]).collect::<Vec<_>>(),
        "nextHops": { "x": { "port": "a", "dstMac": "02:00:00:00:00:01" } }
    }))
    .unwrap();
    let (routes, problems) = declared(&config);
    assert!(problems.is_empty());
    assert_eq!(capacity(&config, &routes), Capacity { v4: 2048, v6: 1024 });
    assert_eq!(counted_capacity(&config), Capacity { v4: 2048, v6: 1024 });
    let config = RouteConfig {
        max_routes: MaxRoutes {
            ipv4: None,
            ipv6: Some(10),
        },
        routes: config.routes[..1].to_vec(),
        ..config
    };
    let (routes, _) = declared(&config);
    assert_eq!(capacity(&config, &routes), Capacity { v4: 1024, v6: 10 });
    let none = RouteConfig {
        max_routes: MaxRoutes::default(),
        routes: Vec::new(),
        ..config
    };
    assert_eq!(capacity(&none, &[]), Capacity { v4: 0, v6: 0 });
}

#[test]
fn a_route_stage_needs_a_next_hop() {
    assert_eq!(
        lines(&json!({ "kind": "route", "nextHops": {} })),
        ["pipelines[0].stages[0].nextHops: a route stage needs at least one next hop: { name: { port, dstMac } }"]
    );
}

#[test]
fn prefixes_parse_with_their_family_and_length() {
    assert_eq!(
        parse_prefix("198.18.0.0/24"),
        Ok(RoutePrefix {
            v6: false,
            addr: 0xC612_0000,
            len: 24
        })
    );
    assert_eq!(parse_prefix("0.0.0.0/0").map(|p| p.len), Ok(0));
    assert_eq!(parse_prefix("::/0").map(|p| (p.v6, p.len)), Ok((true, 0)));
    assert_eq!(parse_prefix("10.1.2.3").map(|p| p.len), Ok(32));
    assert_eq!(
        parse_prefix("2001:db8::/32").map(|p| p.v6().to_string()),
        Ok("2001:db8::".into())
    );
}

#[test]
fn bad_prefixes_say_what_to_write() {
    assert_eq!(
        parse_prefix("198.18.0.1/24").unwrap_err(),
        "\"198.18.0.1/24\" has host bits set; write 198.18.0.0/24"
    );
    assert_eq!(
        parse_prefix("2001:db8::1/64").unwrap_err(),
        "\"2001:db8::1/64\" has host bits set; write 2001:db8::/64"
    );
    assert_eq!(
        parse_prefix("10.0.0.0/33").unwrap_err(),
        "\"10.0.0.0/33\" is not a valid IPv4 prefix"
    );
    assert!(parse_prefix("10.0.0/8").is_err());
    assert!(parse_prefix("").is_err());
}
