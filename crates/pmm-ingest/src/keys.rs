//! The keys seen so far in one file, to find a key given twice.
//!
//! A key is kept as a 128-bit hash of its text with the record that first gave it: 24 bytes a
//! key whatever its length, where keeping the text cost several times that. Two different keys
//! share a hash with a probability of about n² / 2¹²⁹ (1e-26 for a million keys).
//!
//! Most exporters write records in key order (sequence numbers, with or without leading
//! zeros). While a file's keys come in strictly increasing order (a shorter key before a
//! longer one, keys of one length byte by byte), a key greater than the last cannot repeat
//! any before it: its hash is only appended to a list, in blocks. A hash table of millions of
//! keys misses the processor's caches on nearly every look-up (it was most of validation's
//! time on a file of five million records) and holds about 50 bytes a key with its spare
//! room; the list holds 24 and is written in order. At the first key out of that order the
//! list becomes the table, and the rest of the file is looked up there. Either way, the same
//! keys are found repeated, naming the same first records.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Keys a block of the ordered list holds (1.5 MiB): blocks are never moved as the list grows.
const BLOCK: usize = 65_536;

/// The first record of each key, by the key's hash.
type KeyIndex = HashMap<KeyHash, u64, BuildHasherDefault<KeyHashPassThrough>>;

/// A key's 128-bit hash, as four words (so that an entry with its record number takes 24
/// bytes, not the 32 a `u128` would align to).
#[derive(Clone, Copy, PartialEq, Eq)]
struct KeyHash([u32; 4]);

impl std::hash::Hash for KeyHash {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(u64::from(self.0[0]) | (u64::from(self.0[1]) << 32));
    }
}

/// The keys of [`KeyIndex`] are already hashes: their low bits are the table's hash.
#[derive(Default)]
struct KeyHashPassThrough(u64);

impl Hasher for KeyHashPassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not reached ([`KeyHash`] writes one u64); a plain fold keeps the hasher total.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// The 128-bit hash of a key's text.
fn key_hash(text: &[u8]) -> KeyHash {
    let hash = xxhash_rust::xxh3::xxh3_128(text);
    KeyHash([
        hash as u32,
        (hash >> 32) as u32,
        (hash >> 64) as u32,
        (hash >> 96) as u32,
    ])
}

/// Whether `key` comes after `last` in the order the ordered list keeps: shorter keys first,
/// keys of one length byte by byte (so `9` before `10`, and `0009` before `0010`).
fn comes_after(key: &[u8], last: &[u8]) -> bool {
    key.len() > last.len() || (key.len() == last.len() && key > last)
}

/// The keys seen so far in a file.
pub(crate) struct SeenKeys {
    /// The keys so far came in increasing order: their hashes and records, in blocks.
    ordered: Vec<Vec<(KeyHash, u64)>>,
    /// The last key of the ordered list.
    last: Vec<u8>,
    /// The keys, once one came out of order (or when the ordered list is not to be used).
    table: Option<KeyIndex>,
}

impl SeenKeys {
    /// No keys seen yet. `ordered` false looks every key up in the table (for tests that
    /// compare the two ways).
    pub(crate) fn new(ordered: bool) -> Self {
        SeenKeys {
            ordered: Vec::new(),
            last: Vec::new(),
            table: (!ordered).then(KeyIndex::default),
        }
    }

    /// Room for `more` keys: only the table needs it.
    pub(crate) fn reserve(&mut self, more: usize) {
        if let Some(table) = &mut self.table {
            table.reserve(more);
        }
    }

    /// Sees `key`, given by `record`: the record that gave it first when it was seen before
    /// (it is then not kept again), `None` when it is new.
    pub(crate) fn see(&mut self, key: &[u8], record: u64) -> Option<u64> {
        let hash = key_hash(key);
        if self.table.is_none() && (self.ordered.is_empty() || comes_after(key, &self.last)) {
            match self.ordered.last_mut() {
                Some(block) if block.len() < BLOCK => block.push((hash, record)),
                _ => {
                    let mut block = Vec::with_capacity(BLOCK);
                    block.push((hash, record));
                    self.ordered.push(block);
                }
            }
            self.last.clear();
            self.last.extend_from_slice(key);
            return None;
        }
        // In the table: already, or from this key on, the first out of order.
        let (ordered, last) = (&mut self.ordered, &mut self.last);
        let table = self.table.get_or_insert_with(|| {
            std::mem::take(last);
            let ordered = std::mem::take(ordered);
            // The list has no key twice.
            let mut table = KeyIndex::default();
            table.reserve(ordered.iter().map(Vec::len).sum::<usize>() + BLOCK);
            table.extend(ordered.into_iter().flatten());
            table
        });
        match table.entry(hash) {
            std::collections::hash_map::Entry::Occupied(first) => Some(*first.get()),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(record);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Keys as exporters write them: sequence numbers with or without leading zeros, counting
    /// up, sometimes jumping back, sometimes repeating one.
    fn keys() -> impl Strategy<Value = Vec<Vec<u8>>> {
        let step = prop_oneof![
            12 => (1u64..3).prop_map(|n| n as i64),
            1 => Just(0i64),
            1 => -40i64..0,
        ];
        (any::<bool>(), proptest::collection::vec(step, 0..300)).prop_map(|(padded, steps)| {
            let mut at = 0i64;
            steps
                .into_iter()
                .map(|s| {
                    at = (at + s).max(0);
                    if padded {
                        format!("D{at:04}").into_bytes()
                    } else {
                        format!("{at}").into_bytes()
                    }
                })
                .collect()
        })
    }

    proptest! {
        /// The ordered list finds the same keys repeated as the table alone, naming the same
        /// first records, whether the keys stay in order or not.
        #[test]
        fn the_ordered_list_finds_what_the_table_finds(keys in keys()) {
            let (mut ordered, mut table) = (SeenKeys::new(true), SeenKeys::new(false));
            let mut texts: HashMap<Vec<u8>, u64> = HashMap::new();
            for (i, key) in keys.iter().enumerate() {
                let record = i as u64 + 1;
                let expected = match texts.entry(key.clone()) {
                    std::collections::hash_map::Entry::Occupied(first) => Some(*first.get()),
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(record);
                        None
                    }
                };
                prop_assert_eq!(ordered.see(key, record), expected);
                prop_assert_eq!(table.see(key, record), expected);
            }
        }
    }

    /// Keys in order stay in the list, across blocks; the first key out of order moves them to
    /// the table, where a repeat of the very first key is found.
    #[test]
    fn keys_in_order_stay_in_the_list_until_one_is_not() {
        let mut seen = SeenKeys::new(true);
        let count = BLOCK as u64 * 2 + 5;
        for n in 0..count {
            assert_eq!(seen.see(format!("{n}").as_bytes(), n + 1), None);
        }
        assert!(seen.table.is_none(), "in order: no table");
        assert_eq!(seen.ordered.len(), 3);
        assert_eq!(seen.see(b"0", count + 1), Some(1));
        assert!(seen.table.is_some(), "out of order: the table");
        assert!(seen.ordered.is_empty());
        assert_eq!(
            seen.see(format!("{}", count - 1).as_bytes(), count + 2),
            Some(count)
        );
        assert_eq!(seen.see(b"x", count + 3), None);
        assert_eq!(seen.see(b"x", count + 4), Some(count + 3));
    }

    #[test]
    fn shorter_keys_come_first() {
        assert!(comes_after(b"10", b"9"));
        assert!(comes_after(b"0010", b"0009"));
        assert!(!comes_after(b"9", b"10"));
        assert!(!comes_after(b"a", b"a"));
        assert!(comes_after(b"b", b"a"));
    }
}
