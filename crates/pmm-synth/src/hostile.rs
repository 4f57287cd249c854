//! Files a hostile or careless member could submit, too large to keep in the repository: the
//! bad-input corpus and the cost tests make them on the fly, streamed to disk.

use std::io::{self, BufWriter, Write};
use std::path::Path;

/// A large hostile file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hostile {
    /// A `.csv.gz` of `gib` GiB of zero bytes once decompressed (one line without end): a
    /// 1 MiB gzip member of zeros, repeated, about 1 MB stored per GiB.
    GzipOfZeros {
        /// GiB once decompressed.
        gib: u64,
    },
    /// A CSV header of `columns` names (`c0,c1,...`) and one short record.
    WideHeader {
        /// How many columns.
        columns: u64,
    },
    /// `bytes` of `a` without a line end.
    LongLine {
        /// How long.
        bytes: u64,
    },
}

/// Writes `kind` to `path`, streamed (memory stays small whatever the size).
pub fn write_hostile(kind: Hostile, path: &Path) -> io::Result<()> {
    let mut file = BufWriter::new(std::fs::File::create(path)?);
    match kind {
        Hostile::GzipOfZeros { gib } => {
            let mut member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            member.write_all(&vec![0u8; 1 << 20])?;
            let member = member.finish()?;
            for _ in 0..gib * 1024 {
                file.write_all(&member)?;
            }
        }
        Hostile::WideHeader { columns } => {
            for i in 0..columns {
                if i > 0 {
                    file.write_all(b",")?;
                }
                write!(file, "c{i}")?;
            }
            file.write_all(b"\n1\n")?;
        }
        Hostile::LongLine { bytes } => {
            let chunk = vec![b'a'; 1 << 20];
            let mut left = bytes;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                file.write_all(&chunk[..n])?;
                left -= n as u64;
            }
        }
    }
    file.flush()
}
