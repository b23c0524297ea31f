//! Route files, read line by line with every problem named by its line: DPDK l3fwd's format
//! (`R198.18.0.0/24 0`: `R`, a prefix, an output port number 0-255; IPv6 the same; `#` starts a
//! comment line) and a plain one (`198.18.0.0/24 uplink`: a prefix and a next hop's name). Lines
//! of both formats may mix; blank lines are skipped. An l3fwd line's port number names the
//! stage's next hop of that name (`nextHops: { '0': …, '1': … }`, as l3fwd's `--eth-dest`
//! gives a MAC per port). Prefixes follow the config's rules: a prefix with bits set past its
//! length is refused rather than masked, as it is more often a typo than meant (`10.0.0.1/24`).

use super::config::{parse_prefix, RoutePrefix};
use crate::net::quote;

/// One route of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteLine {
    /// Its line, from 1.
    pub line: usize,
    /// The prefix.
    pub prefix: RoutePrefix,
    /// The next hop's name: as written (plain format), or l3fwd's port number (`"0"`), which
    /// names the stage's next hop of that name.
    pub via: String,
}

/// The routes of `text`, or every problem as `line N: what is wrong`.
pub fn parse(text: &str) -> Result<Vec<RouteLine>, Vec<String>> {
    let mut routes = Vec::new();
    let mut problems = Vec::new();
    for (line, fields) in lines(text) {
        match parse_line(fields) {
            Ok((prefix, via)) => routes.push(RouteLine { line, prefix, via }),
            Err(why) => problems.push(format!("line {line}: {why}")),
        }
    }
    if problems.is_empty() {
        Ok(routes)
    } else {
        Err(problems)
    }
}

/// The prefixes of `text` (to delete): one per line, alone or followed by anything (so a route
/// file's own lines delete its routes), `R` or not; or every problem as `line N: …`.
pub fn prefixes(text: &str) -> Result<Vec<(usize, RoutePrefix)>, Vec<String>> {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for (line, fields) in lines(text) {
        let prefix = fields.strip_prefix('R').unwrap_or(fields);
        let prefix = prefix.split_whitespace().next().unwrap_or_default();
        match network(prefix) {
            Ok(p) => found.push((line, p)),
            Err(why) => problems.push(format!("line {line}: {why}")),
        }
    }
    if problems.is_empty() {
        Ok(found)
    } else {
        Err(problems)
    }
}

/// How many routes of each family (IPv4, IPv6) `text` holds, by a glance at each line (an
/// IPv6 prefix has a colon): for text that [`parse`] accepted.
pub fn families(text: &str) -> [usize; 2] {
    let mut n = [0; 2];
    for (_, line) in lines(text) {
        n[usize::from(line.contains(':'))] += 1;
    }
    n
}

/// The lines that say something, numbered from 1, trimmed.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, raw)| (i + 1, raw.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

fn parse_line(line: &str) -> Result<(RoutePrefix, String), String> {
    let (l3fwd, rest) = match line.strip_prefix('R') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let [prefix, target] = fields[..] else {
        return Err(format!(
            "{} has {} field(s); a route is {}",
            quote(line),
            fields.len(),
            if l3fwd {
                "R<prefix> <port>, e.g. R198.18.0.0/24 0"
            } else {
                "<prefix> <next hop>, e.g. 198.18.0.0/24 uplink (or l3fwd's R198.18.0.0/24 0)"
            }
        ));
    };
    let prefix = network(prefix)?;
    if l3fwd {
        let port: u8 = target.parse().map_err(|_| {
            format!(
                "{} is not a port number (0-255, as l3fwd's routes give them)",
                quote(target)
            )
        })?;
        Ok((prefix, port.to_string()))
    } else if next_hop_name(target) {
        Ok((prefix, target.to_owned()))
    } else {
        Err(format!(
            "{} is not a next hop name (letters, digits, _ or -)",
            quote(target)
        ))
    }
}

/// A prefix with its length (a route file names networks), checked as config routes are.
fn network(prefix: &str) -> Result<RoutePrefix, String> {
    if !prefix.contains('/') {
        return Err(format!(
            "{} has no length: write a prefix such as 198.18.0.0/24",
            quote(prefix)
        ));
    }
    parse_prefix(prefix)
}

fn next_hop_name(name: &str) -> bool {
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(line: usize, prefix: &str, via: &str) -> RouteLine {
        RouteLine {
            line,
            prefix: parse_prefix(prefix).unwrap(),
            via: via.into(),
        }
    }

    #[test]
    fn both_formats_mix_with_comments_and_blank_lines() {
        let text = "# l3fwd's routes\nR198.18.0.0/24 0\n\nR2001:db8::/32 1\n198.18.1.0/24 uplink\n  # indented comment\n";
        assert_eq!(
            parse(text).unwrap(),
            [
                route(2, "198.18.0.0/24", "0"),
                route(4, "2001:db8::/32", "1"),
                route(5, "198.18.1.0/24", "uplink"),
            ]
        );
    }

    #[test]
    fn every_bad_line_is_named_with_what_is_wrong() {
        let text = "R198.18.0.0/24\nR198.18.0.0/33 0\nR10.0.0.1/24 0\nR10.0.0.0/8 256\n10.0.0.0/8 up!\n10.0.0.0 up\nR2001:db8::1/32 0\n";
        assert_eq!(
            parse(text).unwrap_err(),
            [
                "line 1: \"R198.18.0.0/24\" has 1 field(s); a route is R<prefix> <port>, e.g. R198.18.0.0/24 0",
                "line 2: \"198.18.0.0/33\" is not a valid IPv4 prefix",
                "line 3: \"10.0.0.1/24\" has host bits set; write 10.0.0.0/24",
                "line 4: \"256\" is not a port number (0-255, as l3fwd's routes give them)",
                "line 5: \"up!\" is not a next hop name (letters, digits, _ or -)",
                "line 6: \"10.0.0.0\" has no length: write a prefix such as 198.18.0.0/24",
                "line 7: \"2001:db8::1/32\" has host bits set; write 2001:db8::/32",
            ]
        );
    }

    #[test]
    fn a_default_route_and_host_routes_are_prefixes_too() {
        let routes = parse("R0.0.0.0/0 3\nR192.0.2.7/32 1\n::/0 fallback\n").unwrap();
        assert_eq!(routes.len(), 3);
        assert!(routes[2].prefix.v6);
        assert_eq!(routes[0].prefix.len, 0);
    }

    #[test]
    fn a_route_file_lists_the_prefixes_to_delete() {
        let text = "R198.18.0.0/24 0\n2001:db8::/32\n# gone\n10.0.0.0/8 uplink\n";
        let found: Vec<_> = prefixes(text)
            .unwrap()
            .into_iter()
            .map(|(line, p)| (line, p.to_string()))
            .collect();
        assert_eq!(
            found,
            [
                (1, "198.18.0.0/24".to_owned()),
                (2, "2001:db8::/32".to_owned()),
                (4, "10.0.0.0/8".to_owned())
            ]
        );
        assert_eq!(
            prefixes("10.0.0.1/8\n").unwrap_err(),
            ["line 1: \"10.0.0.1/8\" has host bits set; write 10.0.0.0/8"]
        );
    }
}
