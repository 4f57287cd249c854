//! Tests of one CSV file read on every core (`csv_parallel`): whatever the number of workers,
//! what comes out is what one thread gives, and what arrow's reader alone gives.
//! `PROPTEST_CASES` sets how many files the property tries (CI: 256; `bench/fuzz.sh`: many
//! more).

use pmm_catalog::Limits;
use proptest::prelude::*;

use crate::DatasetOutcome;
use crate::proptests::{catalog, limits};
use crate::validate::DatasetValidator;

/// Pools of 1, 2, 3 and 8 workers, made once for the tests that compare them.
fn pools() -> &'static [crate::csv_parallel::Pool] {
    static POOLS: std::sync::OnceLock<Vec<crate::csv_parallel::Pool>> = std::sync::OnceLock::new();
    POOLS.get_or_init(|| {
        [1, 2, 3, 8]
            .into_iter()
            .map(crate::csv_parallel::Pool::new)
            .collect()
    })
}

/// A staff file's outcome and valid rows read along each path: arrow's decoder alone, the fast
/// path on one thread, and the file cut into chunks for pools of 1, 2, 3 and 8 workers, with
/// batches of at most `batch_bytes` (a few records each, so a file is many chunks).
fn read_csv_every_way(
    bytes: &[u8],
    batch_bytes: u64,
    pieces: &[usize],
) -> Vec<(
    String,
    DatasetOutcome,
    Vec<datafusion::arrow::record_batch::RecordBatch>,
)> {
    use crate::csv::CsvPath;
    let contract = catalog().dataset("staff").expect("a shipped dataset");
    let limits = Limits {
        max_batch_bytes: batch_bytes,
        ..limits()
    };
    let mut paths = vec![
        ("arrow".to_string(), CsvPath::Arrow),
        ("fast".into(), CsvPath::Fast),
    ];
    for pool in pools() {
        paths.push((
            format!("{} workers", pool.workers()),
            CsvPath::Parallel(pool),
        ));
    }
    paths
        .into_iter()
        .map(|(name, path)| {
            let mut rows = Vec::new();
            let mut validator = DatasetValidator::new(contract, "XA", 2024, "file", &mut rows);
            let input = Pieces {
                bytes,
                sizes: pieces,
                next: 0,
            };
            crate::csv::read_csv_with(input, &mut validator, &limits, path)
                .expect("no internal error");
            (name, validator.finish(0.5), rows)
        })
        .collect()
}

/// A file given in reads of the sizes `sizes` (over and over; the whole rest when empty), as a
/// store's stream gives it: arrow words some errors by how the bytes came.
struct Pieces<'a> {
    bytes: &'a [u8],
    sizes: &'a [usize],
    next: usize,
}

impl std::io::Read for Pieces<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let size = match self.sizes {
            [] => self.bytes.len(),
            sizes => sizes[self.next % sizes.len()],
        };
        self.next += 1;
        let n = size.max(1).min(out.len()).min(self.bytes.len());
        out[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

/// A plain staff value: digits, a unit, a decimal, empty, or long text (so that batches end
/// at their byte budget too, not only at their number of records).
fn plain_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        10 => "[0-9]{1,4}".prop_map(String::into_bytes),
        3 => "U[0-9]{1,2}".prop_map(String::into_bytes),
        2 => Just(Vec::new()),
        2 => "-?[0-9]{1,3}\\.[0-9]{1,2}".prop_map(String::into_bytes),
        1 => "[a-z]{60,200}".prop_map(String::into_bytes),
    ]
}

/// What sends the rest of a file to the one-thread reader, or rejects it: a quoted field, a
/// carriage return, a byte that is not UTF-8, a field past the record limit, a record with a
/// field too many or too few; or a blank line, which is none of those.
fn hazard() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "\"[a-z,\n]{0,6}\"".prop_map(String::into_bytes),
        Just(b"1\r".to_vec()),
        Just(vec![b'7', 0xff]),
        "[a-z]{600}".prop_map(String::into_bytes),
        Just(b"1,".to_vec()),
        Just(b"\n".to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A file read on every core gives what one thread gives, whatever the workers: the same
    /// acceptance, issues (words, records, columns, which are listed), counts and valid rows in
    /// the same batches; and both give what arrow's decoder alone gives, the file coming in
    /// reads of random sizes. The files are plain
    /// records, with repeated keys and blank lines, and up to two hazards anywhere (see
    /// [`hazard`]) in many small batches; the record that misses a field drops its last.
    #[test]
    fn the_parallel_reader_changes_nothing(
        rows in proptest::collection::vec(proptest::collection::vec(plain_value(), 6), 0..150),
        blank in proptest::collection::vec(any::<bool>(), 150),
        hazards in proptest::collection::vec((any::<proptest::sample::Index>(), 0..6usize, hazard()), 0..3),
        short in proptest::option::of(any::<proptest::sample::Index>()),
        batch_bytes in 64u64..3000,
        last_line_end in any::<bool>(),
        pieces in proptest::collection::vec(1usize..300, 0..6),
    ) {
        let mut rows = rows;
        if !rows.is_empty() {
            for (row, field, hazard) in &hazards {
                let row = row.index(rows.len());
                rows[row][*field] = hazard.clone();
            }
            if let Some(row) = short {
                let row = row.index(rows.len());
                rows[row].pop();
            }
        }
        let mut text = b"unit,headcount,note,female_headcount,training_hours,integrity_cases\n".to_vec();
        for (row, blank) in rows.iter().zip(&blank) {
            text.extend_from_slice(&row.join(&b","[..]));
            text.extend_from_slice(if *blank { b"\n\n" } else { b"\n" });
        }
        if !last_line_end && text.ends_with(b"\n") {
            text.pop();
        }
        let read = read_csv_every_way(&text, batch_bytes, &pieces);
        let (_, one, one_rows) = &read[1];
        let (_, arrow, _) = &read[0];
        prop_assert_eq!(format!("{one:?}"), format!("{arrow:?}"));
        for (name, outcome, rows) in &read[2..] {
            prop_assert_eq!(format!("{outcome:?}"), format!("{one:?}"), "{}", name);
            prop_assert_eq!(rows, one_rows, "{}", name);
        }
    }
}

/// Every byte budget from 32 to 400 (batches of 64 to 800 bytes) over one file of records of
/// uneven lengths, most longer than the 96 bytes a record a batch's number of records allows
/// for: a batch ends at the first record that ends past its budget, on every path, including
/// records that end exactly at it.
#[test]
fn chunks_end_where_one_thread_ends_its_batches() {
    let mut text =
        b"unit,headcount,note,female_headcount,training_hours,integrity_cases\n".to_vec();
    for i in 0..40 {
        let note = "n".repeat(60 + i * 37 % 200);
        text.extend_from_slice(format!("U{i},{i},{note},1,2.5,0\n").as_bytes());
        if i % 9 == 0 {
            text.push(b'\n');
        }
    }
    for batch_bytes in (64..800).step_by(2) {
        let read = read_csv_every_way(&text, batch_bytes, &[]);
        let (_, one, one_rows) = &read[1];
        assert!(one.accepted, "{one:?}");
        assert!(one_rows.len() > 1, "more than one batch at {batch_bytes}");
        for (name, outcome, rows) in &read[2..] {
            assert_eq!(format!("{outcome:?}"), format!("{one:?}"), "{name}");
            assert_eq!(rows, one_rows, "{name} at {batch_bytes} bytes a batch");
        }
    }
}

/// Batches of one record each (a small byte budget over six columns), then a record past the
/// record limit: every record before it is checked, on every path, the last one too, whose
/// batch was full exactly where the bytes the limiter let through ended. Found by
/// `bench/fuzz.sh` (shrunk by hand): the one-thread readers lost that batch (10 records
/// read), the chunked reader did not (11).
#[test]
fn a_full_batch_before_a_record_past_the_limit_is_checked() {
    let long = "a".repeat(194);
    let past_the_limit = "a".repeat(600);
    let text = format!(
        "unit,headcount,note,female_headcount,training_hours,integrity_cases\n\
         000,0000,0000,00,000.00,-0.0\nU00,0000,0000,0,0000,-0.00\n000,0000,U0,000,0,U00\n\n\
         U0,000,00,,,00\n\n000,,000,00,-000.00,\n\n000.00,000,00,,,00\n\n\
         -000.0,0000,000,00,U00,000\n0,0000,00,00,0,U00\n\n00,00.0,U0,00,,U00\n\
         {long},-000.00,,U00,00,000\n\n00,00,-0.00,0000,00,0000\n{past_the_limit},0,0,0,0,0"
    );
    for (name, outcome, _) in read_csv_every_way(text.as_bytes(), 64, &[]) {
        assert_eq!(outcome.rows_read, 11, "{name}");
        let rules: Vec<_> = outcome.issues.iter().map(|i| (i.row, i.rule)).collect();
        // Record 11 repeats record 9's key; record 12 is past the limit.
        assert!(
            rules.contains(&(Some(11), crate::Rule::Key)),
            "{name}: {rules:?}"
        );
        assert!(
            rules.contains(&(Some(12), crate::Rule::MaxRecordBytes)),
            "{name}: {rules:?}"
        );
    }
}
