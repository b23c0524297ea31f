//! The config's shorthands, read as the TypeScript schema writes them: ports as a record
//! keyed by name, a worker as a bare lcore id or an object, a port list as one name or an
//! array, a protocol by name or number, an L4 port or an inclusive range, a group by name
//! or id. Each reader accepts exactly the forms the schema does.

use std::fmt;

use serde::de::{self, value::MapAccessDeserializer, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::{PortConfig, PortNames, QueueRef, WorkerConfig};

/// `ports: { a: {...}, b: {...} }` → the ports in record order, each named by its key.
pub(super) fn ports_by_name<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PortConfig>, D::Error> {
    struct Ports;
    impl<'de> Visitor<'de> for Ports {
        type Value = Vec<PortConfig>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a record of ports by name")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut ports = Vec::new();
            while let Some((name, mut port)) = map.next_entry::<String, PortConfig>()? {
                port.name = name;
                ports.push(port);
            }
            Ok(ports)
        }
    }
    d.deserialize_map(Ports)
}

/// A worker's fields in their object form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkerFields {
    lcore: u32,
    #[serde(default)]
    cpu: Option<u32>,
    #[serde(default)]
    rx: Option<Vec<QueueRef>>,
}

impl<'de> Deserialize<'de> for WorkerConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Worker;
        impl<'de> Visitor<'de> for Worker {
            type Value = WorkerConfig;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an lcore id or { lcore, cpu?, rx? }")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WorkerConfig, E> {
                let lcore = u32::try_from(v).map_err(|_| {
                    E::invalid_value(de::Unexpected::Unsigned(v), &"a u32 lcore id")
                })?;
                Ok(WorkerConfig {
                    lcore,
                    cpu: None,
                    rx: None,
                    bare: true,
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<WorkerConfig, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<WorkerConfig, A::Error> {
                let w = WorkerFields::deserialize(MapAccessDeserializer::new(map))?;
                Ok(WorkerConfig {
                    lcore: w.lcore,
                    cpu: w.cpu,
                    rx: w.rx,
                    bare: false,
                })
            }
        }
        d.deserialize_any(Worker)
    }
}

impl<'de> Deserialize<'de> for PortNames {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Names;
        impl<'de> Visitor<'de> for Names {
            type Value = PortNames;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port name or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PortNames, E> {
                Ok(PortNames {
                    names: vec![v.to_owned()],
                    one: true,
                })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PortNames, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(PortNames { names, one: false })
            }
        }
        d.deserialize_any(Names)
    }
}

/// IP protocol numbers by the names the schema takes.
pub const PROTOCOLS: [(&str, u8); 5] = [
    ("tcp", 6),
    ("udp", 17),
    ("icmp", 1),
    ("icmpv6", 58),
    ("sctp", 132),
];

/// `proto: 'udp'` or `proto: 17`.
pub(crate) fn protocol<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    struct Proto;
    impl Visitor<'_> for Proto {
        type Value = u8;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("tcp, udp, icmp, icmpv6, sctp or a protocol number 0-255")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<u8, E> {
            PROTOCOLS
                .iter()
                .find(|(name, _)| *name == v)
                .map(|(_, n)| *n)
                .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u8, E> {
            u8::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u8, E> {
            u8::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
        }
    }
    d.deserialize_any(Proto).map(Some)
}

/// `dstPort: 53` (the range `[53, 53]`) or `dstPort: [1024, 2047]`.
pub(crate) fn l4_range<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u16; 2]>, D::Error> {
    struct Range;
    impl<'de> Visitor<'de> for Range {
        type Value = [u16; 2];
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an L4 port or an inclusive [low, high] pair")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<[u16; 2], E> {
            let port = u16::try_from(v)
                .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))?;
            Ok([port, port])
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<[u16; 2], E> {
            match u64::try_from(v) {
                Ok(v) => self.visit_u64(v),
                Err(_) => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
            }
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[u16; 2], A::Error> {
            let low = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(0, &self))?;
            let high = seq
                .next_element()?
                .ok_or_else(|| de::Error::invalid_length(1, &self))?;
            if seq.next_element::<de::IgnoredAny>()?.is_some() {
                return Err(de::Error::invalid_length(3, &self));
            }
            Ok([low, high])
        }
    }
    d.deserialize_any(Range).map(Some)
}

/// `group: 'monitoring'` or `group: 1001` (a gid, kept as its decimal text).
pub(super) fn group<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct Group;
    impl Visitor<'_> for Group {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a group name or id")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            u32::try_from(v)
                .map(|gid| gid.to_string())
                .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &"a u32 group id"))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            match u64::try_from(v) {
                Ok(v) => self.visit_u64(v),
                Err(_) => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
            }
        }
    }
    d.deserialize_any(Group).map(Some)
}
