//! Log-linear (HDR-style) histograms of durations in nanoseconds: the [`Kind::Histogram`]
//! entries (`pipeline/latency`, `pipeline/probes`).
//!
//! A record is [`HISTOGRAM_WORDS`] u64s, one writer each (a worker's copy of an element):
//! count, sum, min, max, then [`HISTOGRAM_BUCKETS`] bucket counts. Values below
//! 2^[`HISTOGRAM_SUB_BITS`] have a bucket each; above, every power of two is cut into
//! 2^[`HISTOGRAM_SUB_BITS`] equal buckets, so a bucket is at most 1/16 of its lower bound
//! wide (6.25 %), and a percentile read as the bucket's middle is within 3.2 % of the true
//! value. The last bucket also takes everything above 2^32 ns (4.3 s); min and max stay exact.
//! Readers sum counts and buckets over copies, take min and max over copies that counted,
//! and read percentiles from the summed buckets ([`summarize`]).
//!
//! [`Kind::Histogram`]: crate::Kind::Histogram

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::layout::{HISTOGRAM_BUCKETS, HISTOGRAM_HEADER, HISTOGRAM_SUB_BITS, HISTOGRAM_WORDS};

/// Word offsets in a record.
pub mod word {
    /// Values recorded.
    pub const COUNT: usize = 0;
    /// Their sum (ns).
    pub const SUM: usize = 1;
    /// The least (valid once COUNT > 0).
    pub const MIN: usize = 2;
    /// The greatest.
    pub const MAX: usize = 3;
}

const SUB: u64 = 1 << HISTOGRAM_SUB_BITS;

/// The bucket value `v` falls in.
#[inline]
pub const fn bucket_of(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros() as usize;
    let shift = msb - HISTOGRAM_SUB_BITS as usize;
    let sub = ((v >> shift) - SUB) as usize;
    let i = (shift + 1) * SUB as usize + sub;
    if i < HISTOGRAM_BUCKETS {
        i
    } else {
        HISTOGRAM_BUCKETS - 1
    }
}

/// The least value of bucket `i`.
pub const fn bucket_low(i: usize) -> u64 {
    let sub = SUB as usize;
    if i < sub {
        return i as u64;
    }
    let shift = i / sub - 1;
    ((sub + i % sub) as u64) << shift
}

/// One past the greatest value of bucket `i` (below 2^32 ns: the last bucket also counts more).
pub const fn bucket_high(i: usize) -> u64 {
    let sub = SUB as usize;
    if i < sub {
        return i as u64 + 1;
    }
    bucket_low(i) + (1 << (i / sub - 1))
}

/// Records `n` values of `v` ns in `record` (one writer: plain loads and stores).
#[inline]
pub fn record(record: &[AtomicU64; HISTOGRAM_WORDS], v: u64, n: u64) {
    let count = record[word::COUNT].load(Relaxed);
    if count == 0 || v < record[word::MIN].load(Relaxed) {
        record[word::MIN].store(v, Relaxed);
    }
    if v > record[word::MAX].load(Relaxed) {
        record[word::MAX].store(v, Relaxed);
    }
    let bucket = &record[HISTOGRAM_HEADER + bucket_of(v)];
    bucket.store(bucket.load(Relaxed).wrapping_add(n), Relaxed);
    record[word::SUM].store(
        record[word::SUM]
            .load(Relaxed)
            .wrapping_add(v.wrapping_mul(n)),
        Relaxed,
    );
    record[word::COUNT].store(count.wrapping_add(n), Relaxed);
}

/// What readers show of a histogram: `{count, minNs, p50Ns, p90Ns, p99Ns, p999Ns, maxNs}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Values counted (the buckets' sum).
    pub count: u64,
    /// Least, percentiles, greatest (ns); `None` when nothing was counted.
    pub min: Option<u64>,
    /// Median.
    pub p50: Option<u64>,
    /// 90th percentile.
    pub p90: Option<u64>,
    /// 99th.
    pub p99: Option<u64>,
    /// 99.9th.
    pub p999: Option<u64>,
    /// Greatest.
    pub max: Option<u64>,
}

/// The percentiles the readers report, in [`Summary`] order (per mille).
pub const PERCENTILES: [u64; 4] = [500, 900, 990, 999];

/// The value at `per_mille` ‰ of `buckets` (their total `total > 0`): the middle of the bucket
/// holding the value of that rank (`ceil(total × q)`), kept within `[min, max]`.
pub fn percentile(buckets: &[u64], total: u64, per_mille: u64, min: u64, max: u64) -> u64 {
    let rank = (u128::from(total) * u128::from(per_mille))
        .div_ceil(1000)
        .max(1);
    let mut seen = 0u128;
    for (i, &c) in buckets.iter().enumerate() {
        seen += u128::from(c);
        if seen >= rank {
            let mid = bucket_low(i) + (bucket_high(i) - 1 - bucket_low(i)) / 2;
            return mid.clamp(min, max.max(min));
        }
    }
    max
}

/// The summary of summed buckets with the min and max over copies (`None`: no copy counted).
pub fn summarize(buckets: &[u64], min: Option<u64>, max: Option<u64>) -> Summary {
    let count = buckets.iter().fold(0u64, |a, &b| a.wrapping_add(b));
    if count == 0 {
        return Summary::default();
    }
    let (lo, hi) = (min.unwrap_or(0), max.unwrap_or(u64::MAX));
    let p = PERCENTILES.map(|q| Some(percentile(buckets, count, q, lo, hi)));
    Summary {
        count,
        min,
        p50: p[0],
        p90: p[1],
        p99: p[2],
        p999: p[3],
        max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_tile_the_range_and_are_at_most_a_sixteenth_wide() {
        assert_eq!(bucket_low(0), 0);
        for i in 0..HISTOGRAM_BUCKETS - 1 {
            assert_eq!(bucket_high(i), bucket_low(i + 1), "bucket {i}");
            assert_eq!(bucket_of(bucket_low(i)), i);
            assert_eq!(bucket_of(bucket_high(i) - 1), i);
            if i >= 16 {
                assert!((bucket_high(i) - bucket_low(i)) * 16 <= bucket_low(i));
            }
        }
        assert_eq!(bucket_high(HISTOGRAM_BUCKETS - 1), 1 << 32);
        assert_eq!(bucket_of(u64::MAX), HISTOGRAM_BUCKETS - 1);
        assert_eq!(bucket_of(1 << 40), HISTOGRAM_BUCKETS - 1);
    }

    /// Percentiles read from the buckets match those of the sorted values within the
    /// bucket's error, for spreads from a few ns to seconds.
    #[test]
    fn percentiles_match_a_sorted_reference_within_the_bucket_error() {
        let mut rng = testkit::Rng(15);
        for spread in [20u64, 1_000, 100_000, 50_000_000, 3_000_000_000] {
            let rec: [AtomicU64; HISTOGRAM_WORDS] = std::array::from_fn(|_| AtomicU64::new(0));
            let mut values: Vec<u64> = (0..100_000)
                .map(|_| {
                    // Mostly near the low end, a long tail: as latencies are.
                    let r = rng.next() % spread;
                    if rng.next().is_multiple_of(10) {
                        r
                    } else {
                        r / 16
                    }
                })
                .collect();
            for &v in &values {
                record(&rec, v, 1);
            }
            values.sort_unstable();
            let words: Vec<u64> = rec.iter().map(|w| w.load(Relaxed)).collect();
            let s = summarize(
                &words[HISTOGRAM_HEADER..],
                Some(words[word::MIN]),
                Some(words[word::MAX]),
            );
            assert_eq!(s.count, values.len() as u64);
            assert_eq!(words[word::COUNT], values.len() as u64);
            assert_eq!(words[word::SUM], values.iter().sum::<u64>());
            assert_eq!(s.min, Some(values[0]));
            assert_eq!(s.max, values.last().copied());
            for (q, got) in PERCENTILES.iter().zip([s.p50, s.p90, s.p99, s.p999]) {
                let rank = (values.len() as u64 * q).div_ceil(1000) as usize;
                let want = values[rank - 1];
                let got = got.unwrap_or_default();
                // Within half a bucket (1/32 of the value) or, below 16, exact.
                let error = got.abs_diff(want);
                assert!(
                    error * 32 <= want.max(16) || error == 0,
                    "spread {spread}: p{q}‰ is {got}, sorted says {want}"
                );
            }
        }
        assert_eq!(summarize(&[0; 8], None, None), Summary::default());
    }

    #[test]
    fn a_record_counts_a_burst_at_once() {
        let rec: [AtomicU64; HISTOGRAM_WORDS] = std::array::from_fn(|_| AtomicU64::new(0));
        record(&rec, 700, 32);
        record(&rec, 300, 1);
        assert_eq!(rec[word::COUNT].load(Relaxed), 33);
        assert_eq!(rec[word::MIN].load(Relaxed), 300);
        assert_eq!(rec[word::MAX].load(Relaxed), 700);
        assert_eq!(rec[word::SUM].load(Relaxed), 700 * 32 + 300);
        assert_eq!(rec[HISTOGRAM_HEADER + bucket_of(700)].load(Relaxed), 32);
    }
}
