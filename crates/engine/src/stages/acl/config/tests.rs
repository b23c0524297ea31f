//! The acl stage config's rules and its rules file, each problem at its path or line.

use serde_json::{json, Value as Json};

use super::*;

use crate::validate::stage_problems as lines;

fn config(stage: &Json) -> AclConfig {
    let mut fields = stage.clone();
    fields.as_object_mut().unwrap().remove("kind");
    serde_json::from_value(fields).unwrap()
}

#[test]
fn a_good_acl_has_no_problems_and_its_rules_in_check_order() {
    let stage = json!({
        "kind": "acl", "name": "fw", "default": "drop", "memoryMiB": 8,
        "rules": [
            { "name": "ssh", "dst": "198.18.0.0/24", "proto": "tcp", "dstPorts": 22, "action": "drop" },
            { "src": "2001:db8::/32", "srcPorts": "1024-65535", "action": { "forward": "b" } },
            { "name": "any", "srcPorts": "0-65535", "proto": 17, "protoMask": 240, "action": "count" },
            { "name": "first", "priority": 9, "vlan": 7, "action": { "mirror": "a" } }
        ]
    });
    assert_eq!(lines(&stage), Vec::<String>::new());
    let specs = rules(&config(&stage)).unwrap();
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["first", "ssh", "rule1", "any"]);
    assert_eq!(specs[1].family, Some(false));
    assert_eq!(specs[1].dst_ports, Some((22, 22)));
    assert_eq!(specs[1].proto, Some((6, 0xff)));
    assert_eq!(specs[2].family, Some(true));
    assert_eq!(specs[2].src_ports, Some((1024, 65535)));
    // 0-65535 is no condition; a rule without prefixes applies to both families.
    assert_eq!(specs[3].src_ports, None);
    assert_eq!(specs[3].proto, Some((17, 0xf0)));
    assert_eq!(specs[0].family, None);
}

#[test]
fn every_problem_is_reported_at_its_path() {
    let at = "pipelines[0].stages[0]";
    let stage = json!({
        "kind": "acl", "name": "", "memoryMiB": 0,
        "rules": [
            { "src": "10.0.0.1/8", "dst": "2001:db8::/32", "action": "drop" },
            { "srcPorts": "90-80", "dstPorts": "1-70000", "action": { "forward": "c" } },
            { "dstPorts": "http", "vlan": 4096, "protoMask": 15, "action": "count" },
            { "name": "dup", "src": "10.0.0.0/8", "dst": "2001:db8::/32", "action": "drop" },
            { "name": "dup", "action": { "mirror": "b" } },
            { "name": "", "action": "count" }
        ]
    });
    let got = lines(&stage);
    let want = [
        format!("{at}.name: \"\" Too small: expected string to have >=1 characters"),
        format!("{at}.memoryMiB: number 0 Too small: expected number to be >=1"),
        format!("{at}.rules[1].action.forward: \"c\" is not a port (ports: a, b)"),
        format!("{at}.rules[0].src: \"10.0.0.1/8\" has host bits set; write 10.0.0.0/8"),
        format!("{at}.rules[1].srcPorts: \"90-80\" is an empty range (low 90 above high 80)"),
        format!("{at}.rules[1].dstPorts: \"1-70000\" is not a port or a range lo-hi of ports 0-65535 (e.g. '1024-65535')"),
        format!("{at}.rules[2].dstPorts: \"http\" is not a port or a range lo-hi of ports 0-65535 (e.g. '1024-65535')"),
        format!("{at}.rules[2].vlan: number 4096 Too big: expected number to be <=4095"),
        format!("{at}.rules[2].protoMask: a protoMask needs a proto to mask"),
        format!("{at}.rules[3].dst: \"2001:db8::/32\" is not of src's family (IPv4); a rule matches IPv4 or IPv6 packets, not both"),
        format!("{at}.rules[5].name: \"\" Too small: expected string to have >=1 characters"),
    ];
    assert_eq!(got, want);
    // Names are checked once the rules are good.
    let dup = json!({ "kind": "acl", "rules": [
        { "name": "dup", "action": "drop" }, { "name": "dup", "action": "count" }
    ]});
    assert_eq!(
        lines(&dup),
        [format!(
            "{at}.rules[1].name: \"dup\" already names rules[0]; counters are kept by name"
        )]
    );
}

#[test]
fn an_acl_needs_rules_from_one_place() {
    let at = "pipelines[0].stages[0]";
    assert_eq!(
        lines(&json!({ "kind": "acl" })),
        [format!(
            "{at}.rules: an acl stage needs rules: rules: [{{ ..., action }}] or rulesFile: PATH"
        )]
    );
    assert_eq!(
        lines(&json!({ "kind": "acl", "rulesFile": "x", "rules": [{ "action": "drop" }] })),
        [format!(
            "{at}.rulesFile: give rules inline or in a rulesFile, not both"
        )]
    );
    let missing = lines(&json!({ "kind": "acl", "rulesFile": "/nonexistent/fw.rules" }));
    assert_eq!(missing.len(), 1);
    assert!(
        missing[0].starts_with(&format!(
            "{at}.rulesFile: cannot read \"/nonexistent/fw.rules\": "
        )),
        "{missing:?}"
    );
}

#[test]
fn a_rules_file_is_read_and_its_problems_name_line_and_field() {
    let dir = std::env::temp_dir().join(format!("fp-acl-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.rules");
    std::fs::write(
        &good,
        "# two rules\n@198.18.0.0/24 0.0.0.0/0 1040 : 1047 0 : 65535 0x11/0xff\n\n@::/0 2001:db8::/32 0 : 65535 0 : 65535 0/0\n@0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65535 0/0\n",
    )
    .unwrap();
    let stage = json!({ "kind": "acl", "rulesFile": good.to_str().unwrap() });
    assert_eq!(lines(&stage), Vec::<String>::new());
    let specs = rules(&config(&stage)).unwrap();
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["line2", "line4", "line5"]);
    assert_eq!(specs[0].src_ports, Some((1040, 1047)));
    assert_eq!(specs[0].dst, None);
    assert_eq!(specs[0].action, ActionConfig::Drop);
    // Families as written: ::/0 with an IPv6 destination, and 0.0.0.0/0 alone is IPv4.
    assert_eq!(specs[1].family, Some(true));
    assert_eq!(specs[1].src, None);
    assert_eq!(specs[2].family, Some(false));
    assert_eq!(specs[2].proto, None);

    let bad = dir.join("bad.rules");
    std::fs::write(
        &bad,
        "@198.18.0.0/24 0.0.0.0/0 1040 : 1047 0 : 65535 0x11/0xff\n@198.18.0.0/33 0.0.0.0/0 0 : 65535 0 : 65535 6/0xff\nR0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65535 0/0 1\n",
    )
    .unwrap();
    let path = bad.to_str().unwrap();
    let at = "pipelines[0].stages[0].rulesFile";
    assert_eq!(
        lines(&json!({ "kind": "acl", "rulesFile": path })),
        [
            format!("{at}: \"{path}\" line 2: src: \"198.18.0.0/33\" is not a valid IPv4 prefix"),
            format!("{at}: \"{path}\" line 3: \"R0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65535 0/0 1\" is an l3fwd route line (R…): this file holds ACL rules (@…) only; put routes in a route stage"),
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ports_read_as_numbers_and_ranges() {
    assert_eq!(parse_ports(&PortsForm::Number(80)), Ok((80, 80)));
    assert_eq!(parse_ports(&PortsForm::Text("80".into())), Ok((80, 80)));
    assert_eq!(
        parse_ports(&PortsForm::Text("1024-65535".into())),
        Ok((1024, 65535))
    );
    assert!(parse_ports(&PortsForm::Text("1-2-3".into())).is_err());
    assert!(parse_ports(&PortsForm::Text(String::new())).is_err());
}
