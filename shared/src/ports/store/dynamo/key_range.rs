//! Splitting a range of sort keys into parts that can be read at once.
//!
//! A Query reads one partition's items in sort-key order, one 1 MB page per round trip, so a
//! large domain read from its start takes as many round trips in a row as it has pages. The
//! cold read instead reads parts of the key range concurrently (`sk BETWEEN :lo AND :hi`).
//! Where the keys fall is not known in advance, so split points are interpolated, in a
//! [`KeySpace`] learnt from the keys already seen (the first page and the last key): after the
//! prefix they all share, each byte position counts in the radix of the bytes seen there, so
//! numbered ids interpolate as decimal numbers and names as letters. Key conditions are
//! inclusive on both ends, so neighbouring parts share their boundary key; the reader drops
//! that duplicate.

/// The byte positions after the common prefix that take part in the interpolation.
const WIDTH: usize = 8;

/// Keys read as fractions in [0, 1], learnt from sample keys.
#[derive(Debug, Clone)]
pub struct KeySpace {
    prefix: Vec<u8>,
    low: [u8; WIDTH],
    radix: [u16; WIDTH],
    /// The positions some sample reached (at most WIDTH).
    width: usize,
}

impl KeySpace {
    /// The space of `samples` (any number of keys; none gives a space of raw bytes).
    pub fn learn<'a>(samples: impl IntoIterator<Item = &'a str>) -> Self {
        let mut prefix: Option<&[u8]> = None;
        let mut low = [u8::MAX; WIDTH];
        let mut high = [0u8; WIDTH];
        let samples: Vec<&[u8]> = samples.into_iter().map(str::as_bytes).collect();
        for key in &samples {
            prefix = Some(match prefix {
                None => key,
                Some(p) => &p[..p.iter().zip(key.iter()).take_while(|(a, b)| a == b).count()],
            });
        }
        let prefix = prefix.unwrap_or_default().to_vec();
        for key in &samples {
            for (i, byte) in key.iter().skip(prefix.len()).take(WIDTH).enumerate() {
                low[i] = low[i].min(*byte);
                high[i] = high[i].max(*byte);
            }
        }
        let mut radix = [1u16; WIDTH];
        let mut width = 0;
        for i in 0..WIDTH {
            if low[i] > high[i] {
                // No sample reached this far.
                low[i] = 0;
                continue;
            }
            width = i + 1;
            radix[i] = u16::from(high[i] - low[i]) + 1;
        }
        Self {
            prefix,
            low,
            radix,
            width,
        }
    }

    /// Where `key` lies, from 0 to 1 (keys outside the samples' range are clamped).
    pub fn position(&self, key: &str) -> f64 {
        let key = key.as_bytes();
        let shared = self.prefix.len().min(key.len());
        match key[..shared].cmp(&self.prefix[..shared]) {
            std::cmp::Ordering::Less => return 0.0,
            std::cmp::Ordering::Greater => return 1.0,
            std::cmp::Ordering::Equal if key.len() < self.prefix.len() => return 0.0,
            std::cmp::Ordering::Equal => {}
        }
        let (mut value, mut scale, mut above) = (0.0, 1.0, false);
        for i in 0..self.width {
            scale /= f64::from(self.radix[i]);
            let top = self.radix[i] - 1;
            let digit = match key.get(self.prefix.len() + i) {
                _ if above => top,
                None => break,
                Some(b) if *b < self.low[i] => break,
                Some(b) if u16::from(*b - self.low[i]) > top => {
                    above = true;
                    top
                }
                Some(b) => u16::from(*b - self.low[i]),
            };
            value += f64::from(digit) * scale;
        }
        value.clamp(0.0, 1.0)
    }

    /// A key at `position` (0 to 1), cut to valid UTF-8 (DynamoDB keys are strings).
    pub fn key_at(&self, position: f64) -> String {
        let mut key = self.prefix.clone();
        let mut rest = position.clamp(0.0, 1.0);
        for i in 0..self.width {
            rest *= f64::from(self.radix[i]);
            let digit = (rest.floor() as u16).min(self.radix[i] - 1);
            rest -= f64::from(digit);
            // low + digit <= high <= 255: the digit is below the radix.
            key.push(self.low[i].saturating_add(u8::try_from(digit).unwrap_or(u8::MAX)));
        }
        match String::from_utf8(key) {
            Ok(text) => text,
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                String::from_utf8_lossy(&e.into_bytes()[..valid]).into_owned()
            }
        }
    }

    /// Up to `parts - 1` keys strictly between `lo` and `hi`, increasing: the range cut into
    /// `parts` equal spans of this space. Fewer when the two are too close to tell apart.
    pub fn split_points(&self, lo: &str, hi: &str, parts: usize) -> Vec<String> {
        if parts < 2 || lo >= hi {
            return Vec::new();
        }
        let (from, to) = (self.position(lo), self.position(hi));
        let mut points: Vec<String> = Vec::with_capacity(parts - 1);
        for i in 1..parts {
            let key = self.key_at(from + (to - from) * i as f64 / parts as f64);
            let after_previous = points.last().map_or(key.as_str() > lo, |p| key.as_str() > p.as_str());
            if after_previous && key.as_str() < hi {
                points.push(key);
            }
        }
        points
    }

    /// How much of the range from `lo` to `hi` lies before `at`, from 0 to 1.
    pub fn covered(&self, lo: &str, at: &str, hi: &str) -> f64 {
        let (from, to) = (self.position(lo), self.position(hi));
        if to <= from {
            return 1.0;
        }
        ((self.position(at) - from) / (to - from)).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn numbered(range: std::ops::Range<u32>) -> Vec<String> {
        range.map(|i| format!("USER#user{i:06}")).collect()
    }

    #[test]
    fn numbered_ids_split_as_decimal_numbers() {
        let mut samples = numbered(0..2800);
        samples.push("USER#user099999".into());
        let space = KeySpace::learn(samples.iter().map(String::as_str));
        let points = space.split_points("USER#user002799", "USER#user099999", 4);
        assert_eq!(points.len(), 3, "{points:?}");
        assert!(points[0].starts_with("USER#user027"), "{points:?}");
        assert!(points[1].starts_with("USER#user051"), "{points:?}");
        assert!(points[2].starts_with("USER#user075"), "{points:?}");
        let covered = space.covered("USER#user000000", "USER#user002799", "USER#user099999");
        assert!((0.02..0.04).contains(&covered), "{covered}");
    }

    #[test]
    fn equal_or_adjacent_keys_do_not_split() {
        let space = KeySpace::learn(["USER#a", "USER#b"]);
        assert!(space.split_points("USER#a", "USER#a", 8).is_empty());
        assert!(space.split_points("USER#b", "USER#a", 8).is_empty());
        assert_eq!(space.covered("USER#a", "USER#a", "USER#a"), 1.0);
    }

    #[test]
    fn multibyte_boundaries_stay_valid_utf8() {
        let space = KeySpace::learn(["USER#é", "USER#龍"]);
        let points = space.split_points("USER#é", "USER#龍", 16);
        assert!(!points.is_empty());
        for p in &points {
            assert!(p.as_str() > "USER#é" && p.as_str() < "USER#龍", "{p:?}");
        }
    }

    proptest! {
        #[test]
        fn points_are_strictly_between_and_increasing(
            samples in proptest::collection::vec("\\PC{0,12}", 0..6),
            a in "\\PC{0,12}",
            b in "\\PC{0,12}",
            parts in 0usize..40,
        ) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let space = KeySpace::learn(samples.iter().map(String::as_str).chain([lo.as_str(), hi.as_str()]));
            let points = space.split_points(&lo, &hi, parts);
            prop_assert!(points.len() < parts.max(1));
            let mut previous = lo.clone();
            for p in points {
                prop_assert!(p > previous && p < hi, "{:?} not in ({:?}, {:?})", p, previous, hi);
                previous = p;
            }
            let c = space.covered(&lo, &lo, &hi);
            prop_assert!((0.0..=1.0).contains(&c));
        }

        #[test]
        fn positions_follow_key_order(samples in proptest::collection::vec("[a-z0-9]{0,10}", 1..8), a in "[a-z0-9]{0,10}", b in "[a-z0-9]{0,10}") {
            let space = KeySpace::learn(samples.iter().map(String::as_str));
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(space.position(&lo) <= space.position(&hi), "{:?} {:?}", lo, hi);
        }
    }
}
