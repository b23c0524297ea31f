//! ACL rule files in DPDK l3fwd's format, read line by line with every problem named by its
//! line and field:
//!
//! ```text
//! # comment
//! @198.18.0.0/15 10.0.0.0/8 0 : 65535 1024 : 2047 0x06/0xff
//! @2001:db8::/32 ::/0 0 : 65535 53 : 53 17/0xff
//! ```
//!
//! `@`, the source and destination prefixes, the source and destination port ranges (`lo :
//! hi`, the colon a field of its own as l3fwd writes it), the protocol and its mask (decimal or
//! `0x` hex). l3fwd's `R` lines (routes: the same fields and an output port) are refused: this
//! file holds an ACL, and routes belong to a route stage.

use super::config::{parse_prefix, AclPrefix};
use crate::net::quote;

/// One rule of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleLine {
    /// Its line, from 1.
    pub line: usize,
    /// Source prefix (`len` 0: any).
    pub src: AclPrefix,
    /// Destination prefix.
    pub dst: AclPrefix,
    /// Source ports, inclusive.
    pub src_ports: (u16, u16),
    /// Destination ports, inclusive.
    pub dst_ports: (u16, u16),
    /// Protocol and mask.
    pub proto: (u8, u8),
}

/// The shape of a rule line, for messages.
const SHAPE: &str =
    "@src/len dst/len sp_lo : sp_hi dp_lo : dp_hi proto/mask, e.g. @10.0.0.0/8 0.0.0.0/0 0 : 65535 80 : 80 6/0xff";

/// The rules of `text`, or every problem as `line N: field: what is wrong`.
pub fn parse(text: &str) -> Result<Vec<RuleLine>, Vec<String>> {
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match parse_line(line, trimmed) {
            Ok(rule) => rules.push(rule),
            Err(whys) => problems.extend(whys.into_iter().map(|why| format!("line {line}: {why}"))),
        }
    }
    if problems.is_empty() {
        Ok(rules)
    } else {
        Err(problems)
    }
}

/// A number as l3fwd reads it: decimal, or hex after `0x`.
fn number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

fn parse_line(line: usize, text: &str) -> Result<RuleLine, Vec<String>> {
    if text.starts_with('R') {
        return Err(vec![format!(
            "{} is an l3fwd route line (R…): this file holds ACL rules (@…) only; put routes in a route stage",
            quote(text)
        )]);
    }
    let Some(rest) = text.strip_prefix('@') else {
        return Err(vec![format!(
            "{} is not a rule: a rule line is {SHAPE}",
            quote(text)
        )]);
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let [src, dst, sp_lo, sp_colon, sp_hi, dp_lo, dp_colon, dp_hi, proto] = fields[..] else {
        return Err(vec![format!(
            "{} fields where a rule has 9: {SHAPE}",
            fields.len()
        )]);
    };
    let mut problems = Vec::new();
    let mut prefix = |field: &str, text: &str| match parse_prefix(text) {
        Ok(p) => Some(p),
        Err(why) => {
            problems.push(format!("{field}: {why}"));
            None
        }
    };
    let src = prefix("src", src);
    let dst = prefix("dst", dst);
    let mut ports = |field: &str, lo: &str, colon: &str, hi: &str| {
        let port = |t: &str| number(t).and_then(|n| u16::try_from(n).ok());
        match (port(lo), colon, port(hi)) {
            (Some(lo), ":", Some(hi)) if lo <= hi => Some((lo, hi)),
            (Some(l), ":", Some(h)) => {
                problems.push(format!(
                    "{field}: {l} : {h} is an empty range (low above high)"
                ));
                None
            }
            _ => {
                problems.push(format!(
                    "{field}: {} is not a port range lo : hi (ports 0-65535, the colon apart)",
                    quote(&format!("{lo} {colon} {hi}"))
                ));
                None
            }
        }
    };
    let src_ports = ports("srcPorts", sp_lo, sp_colon, sp_hi);
    let dst_ports = ports("dstPorts", dp_lo, dp_colon, dp_hi);
    let byte = |t: &str| number(t).and_then(|n| u8::try_from(n).ok());
    let proto = if let Some((Some(value), Some(mask))) =
        proto.split_once('/').map(|(v, m)| (byte(v), byte(m)))
    {
        Some((value, mask))
    } else {
        problems.push(format!(
            "proto: {} is not protocol/mask (0-255 each, e.g. 6/0xff or 0x11/0xff)",
            quote(proto)
        ));
        None
    };
    if let (Some(s), Some(d)) = (src, dst) {
        // A zero-length prefix is "any" and takes the other's family.
        if s.v6 != d.v6 && s.len > 0 && d.len > 0 {
            problems.push(format!(
                "dst: an {} destination with an {} source; a rule is IPv4 or IPv6",
                if d.v6 { "IPv6" } else { "IPv4" },
                if s.v6 { "IPv6" } else { "IPv4" }
            ));
        }
    }
    match (src, dst, src_ports, dst_ports, proto) {
        (Some(src), Some(dst), Some(src_ports), Some(dst_ports), Some(proto))
            if problems.is_empty() =>
        {
            Ok(RuleLine {
                line,
                src,
                dst,
                src_ports,
                dst_ports,
                proto,
            })
        }
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l3fwd_rules_parse() {
        let text = "# l3fwd's ACL rules\n\
            @198.18.0.0/15 10.0.0.0/8 0 : 65535 1024 : 2047 0x06/0xff\n\
            \n\
            @2001:db8::/32 ::/0 0 : 65535 53 : 53 17/0xff\n\
            @0.0.0.0/0 0.0.0.0/0 0 : 65535 0 : 65535 0x00/0x00\n";
        let rules = parse(text).unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[0].line, 2);
        assert_eq!(rules[0].src.addr, 0xC612_0000);
        assert_eq!(rules[0].src.len, 15);
        assert_eq!(rules[0].dst_ports, (1024, 2047));
        assert_eq!(rules[0].proto, (6, 0xff));
        assert_eq!(rules[1].line, 4);
        assert!(rules[1].src.v6 && rules[1].dst.v6);
        assert_eq!(rules[1].proto, (17, 0xff));
        assert_eq!(rules[2].proto, (0, 0));
    }

    #[test]
    fn every_bad_field_is_named_with_its_line() {
        let text = "@10.0.0.1/8 10.0.0.0/8 0 : 65535 0 : 65535 6/0xff\n\
            @10.0.0.0/8 10.0.0.0/40 0 : 65536 0 : 65535 6/0xff\n\
            @10.0.0.0/8 10.0.0.0/8 0 : 65535 90 : 80 300/0xff\n\
            @10.0.0.0/8 10.0.0.0/8 0:65535 0 : 65535 6/0xff\n\
            R10.0.0.0/8 10.0.0.0/8 0 : 65535 0 : 65535 6/0xff 1\n\
            10.0.0.0/8 10.0.0.0/8\n\
            @10.0.0.0/8 2001:db8::/32 0 : 65535 0 : 65535 6/0xff\n\
            @10.0.0.0/8 10.0.0.0/8 0 - 65535 0 : 65535 6\n";
        let got = parse(text).unwrap_err();
        let want = [
            "line 1: src: \"10.0.0.1/8\" has host bits set; write 10.0.0.0/8",
            "line 2: dst: \"10.0.0.0/40\" is not a valid IPv4 prefix",
            "line 2: srcPorts: \"0 : 65536\" is not a port range lo : hi (ports 0-65535, the colon apart)",
            "line 3: dstPorts: 90 : 80 is an empty range (low above high)",
            "line 3: proto: \"300/0xff\" is not protocol/mask (0-255 each, e.g. 6/0xff or 0x11/0xff)",
            "line 4: 7 fields where a rule has 9: @src/len dst/len sp_lo : sp_hi dp_lo : dp_hi proto/mask, e.g. @10.0.0.0/8 0.0.0.0/0 0 : 65535 80 : 80 6/0xff",
            "line 5: \"R10.0.0.0/8 10.0.0.0/8 0 : 65535 0 : 65535 6/0xff 1\" is an l3fwd route line (R…): this file holds ACL rules (@…) only; put routes in a route stage",
            "line 6: \"10.0.0.0/8 10.0.0.0/8\" is not a rule: a rule line is @src/len dst/len sp_lo : sp_hi dp_lo : dp_hi proto/mask, e.g. @10.0.0.0/8 0.0.0.0/0 0 : 65535 80 : 80 6/0xff",
            "line 7: dst: an IPv6 destination with an IPv4 source; a rule is IPv4 or IPv6",
            "line 8: srcPorts: \"0 - 65535\" is not a port range lo : hi (ports 0-65535, the colon apart)",
            "line 8: proto: \"6\" is not protocol/mask (0-255 each, e.g. 6/0xff or 0x11/0xff)",
        ];
        assert_eq!(got, want);
    }
}
