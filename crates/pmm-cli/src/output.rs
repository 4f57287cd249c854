//! What commands print on standard output, through the `out!` and `outln!` macros (`print!`
//! and `println!` otherwise) or [`Stdout`] (tables written by arrow's writers): when the
//! reader of a pipe goes away (`pmm run ... | head`), the rest is not written, and the command
//! goes on to its end and its own exit code. `println!` would panic at the next line and abort
//! the command midway: a run would not publish.

/// `print!` for what a command prints on standard output: see this module.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::print(format_args!($($arg)*))
    };
}

/// `println!` for what a command prints on standard output: see this module.
macro_rules! outln {
    () => {
        $crate::output::print(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}

use std::io::{ErrorKind, Write};

use datafusion::arrow::record_batch::RecordBatch;
use std::sync::atomic::{AtomicBool, Ordering};

/// Standard output was closed by its reader: nothing more is written to it.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Standard output, taking whatever is written once its reader has gone away.
pub(crate) struct Stdout;

impl Stdout {
    /// `result` of writing to standard output, with a reader gone away taken as `done`.
    fn unless_closed<T>(result: std::io::Result<T>, done: T) -> std::io::Result<T> {
        match result {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => {
                CLOSED.store(true, Ordering::Relaxed);
                Ok(done)
            }
            other => other,
        }
    }

    /// [`Self::unless_closed`], any other failure saying that standard output failed.
    fn written<T>(result: std::io::Result<T>, done: T) -> std::io::Result<T> {
        Self::unless_closed(result, done).map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot write to standard output: {e}"))
        })
    }

    /// Writes `batch` to standard output as arrow's JSON writer gives it (an array of
    /// objects), with a line end.
    pub(crate) fn json(batch: &RecordBatch) -> anyhow::Result<()> {
        let mut encoded = Vec::new();
        let mut writer = datafusion::arrow::json::ArrayWriter::new(&mut encoded);
        writer.write(batch)?;
        writer.finish()?;
        encoded.push(b'\n');
        Self::table(&encoded)
    }

    /// Writes `batch` to standard output as arrow's CSV writer gives it (a header, then rows).
    pub(crate) fn csv(batch: &RecordBatch) -> anyhow::Result<()> {
        let mut encoded = Vec::new();
        datafusion::arrow::csv::Writer::new(&mut encoded).write(batch)?;
        Self::table(&encoded)
    }

    /// Writes an encoded table. The table is encoded first, in memory (a history or a review
    /// is small), so that a failure of standard output is reported as itself and not as the
    /// writer's ("Csv error: ...").
    fn table(encoded: &[u8]) -> anyhow::Result<()> {
        Stdout.write_all(encoded)?;
        Stdout.flush()?;
        Ok(())
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if CLOSED.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        Self::written(std::io::stdout().lock().write(buf), buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if CLOSED.load(Ordering::Relaxed) {
            return Ok(());
        }
        Self::written(std::io::stdout().lock().flush(), ())
    }
}

/// Writes `args` to standard output, unless its reader has gone away. Any other failure to
/// write (a full disk under a redirection) panics, as `print!` does: the output would be cut
/// short without a word.
pub(crate) fn print(args: std::fmt::Arguments<'_>) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    // Standard output locked once for all of it, as `print!` does: a line is never cut by
    // another thread's.
    let written = std::io::stdout().lock().write_fmt(args);
    if let Err(e) = Stdout::unless_closed(written, ()) {
        panic!("failed printing to stdout: {e}");
    }
}
