//! Batches of a text format (CSV, JSON lines) bounded in bytes as well as in records.
//!
//! arrow's CSV and JSON readers end a batch after a number of records, whatever the records
//! hold: 65,536 records of just under `max_record_bytes` each is a 64 GiB batch. Here the
//! readers' push decoders are fed by [`Batches`], which hands them at most a byte budget per
//! batch and then ends the batch at the next record boundary: past the budget, the decoder is
//! fed up to the next line end at a time, and the batch is flushed as soon as a record has
//! ended there (a record ends only at a line end, or at the end of the file).

use std::io::BufRead;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::error::ArrowError;

/// A push decoder of records: arrow's CSV or JSON decoder.
pub(crate) trait RecordDecoder {
    /// Decodes from `bytes`, returning how many it took (fewer when the batch is full).
    fn decode(&mut self, bytes: &[u8]) -> Result<usize, ArrowError>;
    /// The batch of the records decoded since the last flush, if any.
    fn flush(&mut self) -> Result<Option<RecordBatch>, ArrowError>;
    /// Whole records decoded since the last flush.
    fn records(&self) -> usize;
    /// Whether the batch holds all the records it can: it is flushed before more input is
    /// read, so a read that fails next (a record past its limit) does not take it along.
    fn full(&self) -> bool;
}

impl RecordDecoder for datafusion::arrow::csv::reader::Decoder {
    fn decode(&mut self, bytes: &[u8]) -> Result<usize, ArrowError> {
        self.decode(bytes)
    }
    fn flush(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        self.flush()
    }
    fn records(&self) -> usize {
        // The decoder counts what is left of the batch; `Batches` only compares counts.
        usize::MAX - self.capacity()
    }
    fn full(&self) -> bool {
        self.capacity() == 0
    }
}

impl RecordDecoder for datafusion::arrow::json::reader::Decoder {
    fn decode(&mut self, bytes: &[u8]) -> Result<usize, ArrowError> {
        self.decode(bytes)
    }
    fn flush(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        self.flush()
    }
    fn records(&self) -> usize {
        self.len()
    }
    fn full(&self) -> bool {
        // arrow's JSON decoder does not tell its batch size; pmm builds every one with
        // batches of `BATCH_ROWS` records (`jsonl`).
        self.len() >= crate::read::BATCH_ROWS
    }
}

/// The batches of `decoder` over `input`, each from at most `budget` bytes of input plus the
/// rest of the record that crosses it. An error of `input` (a limit, a failed download) comes
/// out as an [`ArrowError::IoError`] carrying it.
pub(crate) struct Batches<R, D> {
    input: R,
    decoder: D,
    budget: usize,
    done: bool,
}

impl<R: BufRead, D: RecordDecoder> Batches<R, D> {
    pub(crate) fn new(input: R, decoder: D, budget: usize) -> Self {
        Batches {
            input,
            decoder,
            budget: budget.max(1),
            done: false,
        }
    }

    /// The decoder (for tests that look at its state after reading).
    #[cfg(test)]
    pub(crate) fn decoder(&self) -> &D {
        &self.decoder
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        let mut fed = 0usize;
        loop {
            let bytes = self
                .input
                .fill_buf()
                .map_err(|e| ArrowError::IoError(e.to_string(), e))?;
            if bytes.is_empty() {
                // An empty input tells the decoder the file has ended: a last record without
                // a line end is complete, a quote that never closed is an error.
                self.decoder.decode(&[])?;
                self.done = true;
                return self.decoder.flush();
            }
            let room = self.budget.saturating_sub(fed);
            let piece = if room > 0 {
                &bytes[..bytes.len().min(room)]
            } else {
                // Past the budget: up to the next line end, where a record may end.
                match memchr::memchr2(b'\n', b'\r', bytes) {
                    Some(end) => &bytes[..=end],
                    None => bytes,
                }
            };
            let (length, ends_line) = (piece.len(), matches!(piece.last(), Some(b'\n' | b'\r')));
            let before = self.decoder.records();
            let taken = self.decoder.decode(piece)?;
            self.input.consume(taken);
            fed += taken;
            // The decoder stopped early or took its last record at the piece's end (its batch
            // is full of records), or it has just skipped the CSV header; or, past the budget,
            // a record ended at the line end the piece stops at, so the decoder is between two
            // records.
            let past_budget = room == 0 && ends_line && self.decoder.records() != before;
            if taken < length || past_budget || self.decoder.full() {
                match self.decoder.flush()? {
                    Some(batch) => return Ok(Some(batch)),
                    None if taken == 0 => {
                        return Err(ArrowError::ComputeError(
                            "the record decoder took no input (a bug in pmm)".into(),
                        ));
                    }
                    None => {}
                }
            }
        }
    }
}

impl<R: BufRead, D: RecordDecoder> Iterator for Batches<R, D> {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_batch() {
            Ok(Some(batch)) => Some(Ok(batch)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Cursor, Read};
    use std::sync::Arc;

    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::read::BATCH_ROWS;

    /// A read that fails, as the record limiter's does at a record past the limit.
    struct Failing;

    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("a record past the limit"))
        }
    }

    /// Exactly one full batch of records, then a read that fails: the batch comes out before
    /// the error, for CSV and for JSON lines.
    #[test]
    fn a_full_batch_comes_out_before_a_failed_read() {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Utf8, true)]));
        let lines = |line: &str| line.repeat(BATCH_ROWS).into_bytes();
        let outcome = |batches: &mut dyn Iterator<Item = Result<RecordBatch, ArrowError>>| {
            let rows = batches.next().map(|b| b.map(|b| b.num_rows()).ok());
            let failed = batches.next().is_some_and(|b| b.is_err());
            (rows, failed)
        };
        let csv = datafusion::arrow::csv::ReaderBuilder::new(schema.clone())
            .with_batch_size(BATCH_ROWS)
            .build_decoder();
        let input = BufReader::new(Cursor::new(lines("x\n")).chain(Failing));
        let mut batches = Batches::new(input, csv, usize::MAX);
        assert_eq!(outcome(&mut batches), (Some(Some(BATCH_ROWS)), true));
        let json = datafusion::arrow::json::ReaderBuilder::new(schema)
            .with_batch_size(BATCH_ROWS)
            .build_decoder()
            .unwrap();
        let input = BufReader::new(Cursor::new(lines("{\"a\":\"x\"}\n")).chain(Failing));
        let mut batches = Batches::new(input, json, usize::MAX);
        assert_eq!(outcome(&mut batches), (Some(Some(BATCH_ROWS)), true));
    }
}
