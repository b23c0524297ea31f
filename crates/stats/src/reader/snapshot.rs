//! The snapshot: every entry of the directory decoded by its kind into one JSON object, the
//! same one the TypeScript reader builds (docs/stats-layout.md, "Reading by kind").

use serde_json::{Map, Value};

use super::{plural, text_at, u32_at, u64_at, Entry, Reader, ReaderError};
use crate::histogram::{self, word as hword};
use crate::layout::{
    flags, header, Kind, ELEMENT_NAME_LEN, ELEMENT_PARENT, FLAG_FAILED, HISTOGRAM_HEADER, NONE,
    WORKER_OBJECT,
};

/// A histogram element merged over copies: summed buckets, min and max over the copies that
/// counted.
pub type Merged = (Vec<u64>, Option<u64>, Option<u64>);

/// An object's live elements: (index, name, parent index).
type Elements = Vec<(usize, String, Option<usize>)>;

/// An object being decoded: its names entry's name and link, its live elements, and a row
/// per element.
#[derive(Default)]
struct Object {
    name: String,
    link: String,
    elements: Elements,
    rows: Vec<Map<String, Value>>,
}

fn position(objects: &[Object], name: &str) -> Option<usize> {
    objects.iter().position(|o| o.name == name)
}

/// Puts children under their parents (every parent row gets the array, empty or not),
/// deepest first; the other objects become top-level arrays.
fn nest(mut objects: Vec<Object>, out: &mut Map<String, Value>) {
    for o in (0..objects.len()).rev() {
        let Object {
            name,
            link,
            elements,
            rows,
        } = std::mem::take(&mut objects[o]);
        let key = plural(&name);
        match position(&objects, &link) {
            Some(p) if !link.is_empty() => {
                let parents: Vec<usize> = objects[p].elements.iter().map(|el| el.0).collect();
                let mut nested: Vec<Vec<Value>> = vec![Vec::new(); parents.len()];
                for ((_, _, parent), row) in elements.iter().zip(rows) {
                    if let Some(k) = parent.and_then(|pi| parents.iter().position(|&x| x == pi)) {
                        nested[k].push(Value::Object(row));
                    }
                }
                for (row, children) in objects[p].rows.iter_mut().zip(nested) {
                    row.insert(key.clone(), children.into());
                }
            }
            _ => {
                out.insert(
                    key,
                    rows.into_iter()
                        .map(Value::Object)
                        .collect::<Vec<_>>()
                        .into(),
                );
            }
        }
    }
}

impl Reader {
    /// The live elements of a names entry.
    fn elements(&self, e: &Entry) -> Result<Elements, ReaderError> {
        let mut out = Vec::new();
        for i in 0..e.count {
            let at = e.offset + i * e.stride;
            let name = text_at(&self.bytes, at, ELEMENT_NAME_LEN.min(e.stride))?;
            if name.is_empty() {
                continue;
            }
            let parent = if e.link.is_empty() {
                None
            } else {
                Some(u32_at(&self.bytes, at + ELEMENT_PARENT)? as usize)
            };
            out.push((i, name, parent));
        }
        Ok(out)
    }

    /// Decodes a counter entry into its object's rows (and, for a by-worker counter, into
    /// the worker object's rows).
    fn counter(&self, e: &Entry, objects: &mut [Object]) -> Result<(), ReaderError> {
        let Some(o) = position(objects, e.split().0) else {
            return Ok(());
        };
        let target = (e.flags & flags::REF != 0)
            .then(|| position(objects, &e.link))
            .flatten();
        for k in 0..objects[o].elements.len() {
            let index = objects[o].elements[k].0;
            if index >= e.count {
                continue;
            }
            let v = self.sum(e, index)?;
            let value = if let Some(t) = target {
                objects[t]
                    .elements
                    .iter()
                    .find(|el| el.0 as u64 == v)
                    .map_or(Value::Null, |el| el.1.clone().into())
            } else if e.flags & (flags::OPTIONAL | flags::REF) != 0 && v == NONE {
                Value::Null
            } else {
                v.into()
            };
            objects[o].rows[k].insert(e.split().1.to_owned(), value);
        }
        if e.flags & flags::BY_WORKER != 0 {
            if let Some(w) = position(objects, WORKER_OBJECT) {
                let live: Vec<usize> = objects[o]
                    .elements
                    .iter()
                    .map(|el| el.0)
                    .filter(|&i| i < e.count)
                    .collect();
                for k in 0..objects[w].elements.len() {
                    let copy = objects[w].elements[k].0;
                    if copy >= e.copies {
                        continue;
                    }
                    let total = live.iter().try_fold(0u64, |acc, &i| {
                        Ok::<_, ReaderError>(acc.wrapping_add(self.u64_of(e, copy, i)?))
                    })?;
                    objects[w].rows[k].insert(e.split().1.to_owned(), total.into());
                }
            }
        }
        Ok(())
    }

    /// Element `index` of a histogram entry, merged over copies: (summed buckets, min and
    /// max over the copies that counted).
    pub fn histogram_of(&self, e: &Entry, index: usize) -> Result<Merged, ReaderError> {
        let buckets = (e.stride / 8).saturating_sub(HISTOGRAM_HEADER);
        let mut sums = vec![0u64; buckets];
        let (mut min, mut max) = (None::<u64>, None::<u64>);
        for c in 0..e.copies {
            let base = e.offset + c * e.copy_stride + index * e.stride;
            let at = |word: usize| u64_at(&self.bytes, base + word * 8);
            if at(hword::COUNT)? == 0 {
                continue;
            }
            let (lo, hi) = (at(hword::MIN)?, at(hword::MAX)?);
            min = Some(min.map_or(lo, |m| m.min(lo)));
            max = Some(max.map_or(hi, |m| m.max(hi)));
            for (b, sum) in sums.iter_mut().enumerate() {
                *sum = sum.wrapping_add(at(HISTOGRAM_HEADER + b)?);
            }
        }
        Ok((sums, min, max))
    }

    /// Decodes a histogram entry into its object's rows: `{count, minNs, p50Ns, p90Ns,
    /// p99Ns, p999Ns, maxNs}` (nulls when nothing was counted).
    fn histogram(&self, e: &Entry, objects: &mut [Object]) -> Result<(), ReaderError> {
        let Some(o) = position(objects, e.split().0) else {
            return Ok(());
        };
        for k in 0..objects[o].elements.len() {
            let index = objects[o].elements[k].0;
            if index >= e.count {
                continue;
            }
            let (buckets, min, max) = self.histogram_of(e, index)?;
            let s = histogram::summarize(&buckets, min, max);
            let mut m = Map::new();
            m.insert("count".into(), s.count.into());
            for (key, v) in [
                ("minNs", s.min),
                ("p50Ns", s.p50),
                ("p90Ns", s.p90),
                ("p99Ns", s.p99),
                ("p999Ns", s.p999),
                ("maxNs", s.max),
            ] {
                m.insert(key.into(), v.map_or(Value::Null, Value::from));
            }
            objects[o].rows[k].insert(e.split().1.to_owned(), Value::Object(m));
        }
        Ok(())
    }

    /// Every quantity in the segment, decoded by kind: the snapshot `engine.stats()` and
    /// `fastpath stats --json` report (docs/stats-layout.md, "Reading by kind").
    pub fn snapshot(&self) -> Result<Value, ReaderError> {
        let entries = self.entries()?;
        let mut out = Map::new();
        out.insert("name".into(), self.name()?.into());
        out.insert("pid".into(), self.pid()?.into());
        out.insert("alive".into(), self.beating()?.into());
        out.insert("failed".into(), (self.flags()? & FLAG_FAILED != 0).into());
        let start = u64_at(&self.bytes, header::START_NS)?;
        let beat = u64_at(&self.bytes, header::HEARTBEAT_NS)?;
        out.insert(
            "uptimeNs".into(),
            (if start == 0 {
                0
            } else {
                beat.saturating_sub(start)
            })
            .into(),
        );

        // Objects: their elements, rows in index order.
        let mut objects: Vec<Object> = Vec::new();
        for e in entries.iter().filter(|e| e.kind == Kind::Names) {
            let elements = self.elements(e)?;
            let rows = elements
                .iter()
                .map(|(_, name, _)| {
                    Map::from_iter([("name".to_owned(), Value::from(name.clone()))])
                })
                .collect();
            objects.push(Object {
                name: e.name.clone(),
                link: e.link.clone(),
                elements,
                rows,
            });
        }
        for e in &entries {
            let (group, field) = e.split();
            match e.kind {
                Kind::Counter => self.counter(e, &mut objects)?,
                Kind::Scalar => {
                    let v = self.sum(e, 0)?;
                    let value = if e.flags & flags::OPTIONAL != 0 && v == NONE {
                        Value::Null
                    } else {
                        v.into()
                    };
                    if group.is_empty() {
                        out.insert(field.to_owned(), value);
                    } else if let Value::Object(m) = out
                        .entry(group.to_owned())
                        .or_insert_with(|| Value::Object(Map::new()))
                    {
                        m.insert(field.to_owned(), value);
                    }
                }
                Kind::Text => {
                    let text = text_at(&self.bytes, e.offset, e.count)?;
                    if !text.is_empty() {
                        out.insert(e.name.clone(), text.into());
                    }
                }
                Kind::Histogram => self.histogram(e, &mut objects)?,
                Kind::Names | Kind::Ring => {}
            }
        }
        nest(objects, &mut out);
        Ok(Value::Object(out))
    }
}
