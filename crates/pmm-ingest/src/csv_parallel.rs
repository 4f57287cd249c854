//! One CSV file read on every core: the file is cut into chunks on record boundaries, each
//! chunk is parsed (the fast path) and examined (conversion and rules) on a pool of threads, and
//! the examined chunks are settled in file order on the reading thread (issues, keys, counts,
//! staging), so that what comes out is what one thread gives, whatever the number of workers.
//!
//! The cutter follows the batches the one-thread reader makes ([`crate::batches::Batches`] over
//! the fast path): a chunk ends after `batch_rows` records, or at the end of the first record
//! that ends past `budget` bytes from the chunk's start (the first chunk counts the header); a
//! blank line is no record. So every chunk is a batch of the one-thread reader, with the same
//! first record, and the staged batches, issues and record numbers are the same.
//!
//! Finding where records end needs the parser's state only where a quote may open a field
//! holding a line end. The cutter looks for quotes and carriage returns as it looks for line
//! ends; at the first one, and at the first chunk a worker cannot parse plainly (a record with
//! too many or too few fields, a byte that is not UTF-8), the rest of the file from that
//! chunk's start is read by the one-thread reader, which reads it exactly as it would have
//! from that batch on (its fast path, then arrow's decoder with the file's line numbers), so
//! its messages are the same too. Chunks after it that workers have already parsed are dropped
//! and their bytes read again, in the pieces the input first gave them in (arrow words some
//! errors by how the bytes came in calls: "got more than 6" or "got 7").
//!
//! Memory: at most [`Pool::workers`] + 1 chunks are out at a time per file, each one batch's
//! bytes and its columns.
//!
//! Why one file of this length (about 530 lines): the cutter, the workers and the reading
//! thread speak one protocol (chunk numbers, tokens for the chunks out, where each chunk and
//! each of the input's reads starts) whose point is the hand-over to the one-thread reader:
//! which bytes it gets, in which pieces, after which record. Split across files, that
//! hand-over's conditions would be read in three places.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::Result;
use crate::csv_fast::PlainChunks;
use crate::validate::{DatasetValidator, Examined, Examiner};

/// A job for a worker of the [`Pool`].
type Job = Box<dyn FnOnce() + Send>;

/// Threads that parse and examine chunks, shared by every file being read: a run reads several
/// files at once, and each file's chunks wait their turn with the others', so the machine's
/// cores are busy without more threads than cores doing the heavy work.
pub(crate) struct Pool {
    jobs: Mutex<Sender<Job>>,
    workers: usize,
}

impl Pool {
    /// A pool of `workers` threads (at least one), which end when the pool is dropped.
    pub(crate) fn new(workers: usize) -> Pool {
        let workers = workers.max(1);
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..workers {
            let queue = queue.clone();
            let started = std::thread::Builder::new()
                .name(format!("pmm-check-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            // A thread that cannot start leaves fewer workers; the first always can, or the
            // machine cannot run pmm at all.
            if started.is_err() && i == 0 {
                panic!("cannot start a thread to check CSV chunks");
            }
        }
        Pool {
            jobs: Mutex::new(jobs),
            workers,
        }
    }

    /// The process's pool: one worker per core.
    pub(crate) fn global() -> &'static Pool {
        static POOL: OnceLock<Pool> = OnceLock::new();
        POOL.get_or_init(|| Pool::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
    }

    /// How many threads the pool has.
    pub(crate) fn workers(&self) -> usize {
        self.workers
    }

    fn run(&self, job: Job) {
        let sent = match self.jobs.lock() {
            Ok(jobs) => jobs.send(job),
            Err(poisoned) => poisoned.into_inner().send(job),
        };
        // The workers hold the queue as long as the pool lives.
        if let Err(unsent) = sent {
            (unsent.0)();
        }
    }
}

/// What the reading thread hears about a chunk or about the cutter's end, by chunk number.
enum Piece {
    /// Chunk `seq` (where it starts in the file, its bytes, its records): examined, or `None`
    /// when it is not plain.
    Chunk {
        start: u64,
        bytes: Vec<u8>,
        records: u64,
        result: Box<Outcome>,
    },
    /// From this chunk on (it starts at `start` in the file), the file needs the one-thread
    /// reader: the cutter met a quote or a carriage return, or a read failed (the cutter
    /// returns what it holds).
    Sequential { start: u64 },
    /// The file ended before this chunk.
    End,
}

/// What a worker made of a chunk: `None` when it is not plain; its panic, if it panicked.
type Outcome = std::thread::Result<Option<(Result<Examined>, Duration)>>;

/// Where the cutter stopped, unless at the file's end: the bytes of the chunk under way, the
/// input after them, and the error a read ended on (the one-thread reader meets it after those
/// bytes, where it would have met it).
struct Stopped<R> {
    under_way: Vec<u8>,
    input: R,
    error: Option<std::io::Error>,
}

/// How a file's chunks are cut and read.
pub(crate) struct Plan {
    pub(crate) plain: PlainChunks,
    /// The header's length: the first chunk starts with the header.
    pub(crate) header: usize,
    pub(crate) budget: usize,
    pub(crate) batch_rows: usize,
}

/// Reads the CSV stream `input` (the header, then the records) into `validator` with the
/// workers of `pool`; `sequential` reads the rest of the file with the one-thread reader,
/// from a chunk's start, given the header bytes to pass over first (the first chunk's), the
/// records before it, and the bytes from there on.
pub(crate) fn read<R, S>(
    input: R,
    plan: Plan,
    pool: &Pool,
    validator: &mut DatasetValidator<'_>,
    sequential: S,
) -> Result<()>
where
    R: BufRead + Send,
    S: FnOnce(&mut DatasetValidator<'_>, usize, u64, Box<dyn Read + Send + '_>) -> Result<()>,
{
    let examiner = validator.examiner();
    let stop = AtomicBool::new(false);
    let (pieces, heard) = channel::<(u64, Piece)>();
    let ahead = pool.workers() + 1;
    let (tokens, token) = sync_channel::<()>(ahead);
    // Buffers of chunks settled, back to the cutter to be filled again (fresh memory for every
    // chunk costs the kernel a page fault every 4 KiB).
    let (recycle, recycled) = channel::<Vec<u8>>();
    for _ in 0..ahead {
        let _ = tokens.send(());
    }
    std::thread::scope(|scope| {
        let cutter = std::thread::Builder::new()
            .name("pmm-cut".into())
            .spawn_scoped(scope, {
                let stop = &stop;
                let plain = Arc::new(plan.plain);
                let (header, budget, batch_rows) = (plan.header, plan.budget, plan.batch_rows);
                move || {
                    let dispatch =
                        |seq: u64, start: u64, bytes: Vec<u8>, first: u64, records: u64, last| {
                            let (plain, examiner, pieces) =
                                (plain.clone(), examiner.clone(), pieces.clone());
                            let skip = if seq == 0 { header } else { 0 };
                            pool.run(Box::new(move || {
                                let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
                                    examine(&plain, &examiner, bytes, skip, last, first, records)
                                }));
                                // A panic ends the file's reading: its bytes are not needed.
                                let (result, bytes) = match result {
                                    Ok((result, bytes)) => (Ok(result), bytes),
                                    Err(panic) => (Err(panic), Vec::new()),
                                };
                                let _ = pieces.send((
                                    seq,
                                    Piece::Chunk {
                                        start,
                                        bytes,
                                        records,
                                        result: Box::new(result),
                                    },
                                ));
                            }));
                        };
                    let mut reads = Vec::new();
                    let stopped = cut(
                        input, header, budget, batch_rows, stop, &token, &recycled, &pieces,
                        &mut reads, dispatch,
                    );
                    (reads, stopped)
                }
            })
            .map_err(|e| crate::Error::Internal(format!("cannot start a cutting thread: {e}")))?;
        settle(
            validator,
            plan.header,
            heard,
            tokens,
            recycle,
            &stop,
            cutter,
            sequential,
        )
    })
}

/// A chunk parsed and examined on a worker, and its buffer (emptied, for the cutter to fill
/// again); `None` and the chunk's bytes when it is not plain.
fn examine(
    plain: &PlainChunks,
    examiner: &Examiner,
    bytes: Vec<u8>,
    skip: usize,
    last: bool,
    first: u64,
    records: u64,
) -> (Option<(Result<Examined>, Duration)>, Vec<u8>) {
    let clock = Instant::now();
    let (batch, buffer) = match plain.parse(bytes, skip, last) {
        Ok(parsed) => parsed,
        Err(bytes) => return (None, bytes),
    };
    if batch.num_rows() as u64 != records {
        return (
            Some((
                Err(crate::Error::Internal(format!(
                    "a CSV chunk of {records} records parsed as {} (a bug in pmm)",
                    batch.num_rows()
                ))),
                clock.elapsed(),
            )),
            buffer,
        );
    }
    let parsed = clock.elapsed();
    (
        Some((examiner.examine(batch.columns(), first), parsed)),
        buffer,
    )
}

/// The cutter: reads `input`, cuts it into chunks of whole records as the one-thread reader
/// cuts batches, and hands each to `dispatch` once a token says there is room. Ends by sending
/// [`Piece::End`] at the file's end, or [`Piece::Sequential`] and returning where it stopped;
/// returns where it stopped also when told to (`stop`, or the tokens ran out).
#[allow(clippy::too_many_arguments)]
fn cut<R: BufRead>(
    mut input: R,
    header: usize,
    budget: usize,
    batch_rows: usize,
    stop: &AtomicBool,
    token: &Receiver<()>,
    recycled: &Receiver<Vec<u8>>,
    pieces: &Sender<(u64, Piece)>,
    reads: &mut Vec<u64>,
    dispatch: impl Fn(u64, u64, Vec<u8>, u64, u64, bool),
) -> Option<Stopped<R>> {
    let budget = budget.max(1);
    let mut buf: Vec<u8> = Vec::new();
    // Where the search for record ends goes on, and where the line under way starts.
    let (mut scan, mut line) = (header, header);
    let (mut seq, mut records, mut first) = (0u64, 0u64, 1u64);
    // Where `buf` starts in the file.
    let mut base = 0u64;
    let wait = |buf: Vec<u8>, input: R| -> std::result::Result<(Vec<u8>, R), Option<Stopped<R>>> {
        if token.recv().is_err() || stop.load(Ordering::Acquire) {
            return Err(Some(Stopped {
                under_way: buf,
                input,
                error: None,
            }));
        }
        Ok((buf, input))
    };
    loop {
        // The first chunk's search starts past the header, which may not all be read yet.
        while let Some(found) = memchr::memchr3(b'\n', b'"', b'\r', buf.get(scan..).unwrap_or(&[]))
        {
            let at = scan + found;
            if buf[at] != b'\n' {
                let _ = pieces.send((seq, Piece::Sequential { start: base }));
                return Some(Stopped {
                    under_way: buf,
                    input,
                    error: None,
                });
            }
            scan = at + 1;
            if at == line {
                line = at + 1; // a blank line: no record
                continue;
            }
            line = at + 1;
            records += 1;
            if records == batch_rows as u64 || at + 1 > budget {
                let (mut chunk, back) = match wait(buf, input) {
                    Ok(both) => both,
                    Err(stopped) => return stopped,
                };
                input = back;
                // The next chunk starts with the bytes after this one, in a buffer of the
                // last chunks' size.
                buf = recycled.try_recv().unwrap_or_default();
                buf.clear();
                buf.reserve(at + 1 + crate::csv::READ_BUFFER + 64);
                buf.extend_from_slice(&chunk[at + 1..]);
                chunk.truncate(at + 1);
                dispatch(seq, base, chunk, first, records, false);
                base += (at + 1) as u64;
                first += records;
                seq += 1;
                (scan, line, records) = (0, 0, 0);
            }
        }
        scan = scan.max(buf.len());
        let read = match input.fill_buf() {
            Ok(read) => read,
            Err(error) => {
                let _ = pieces.send((seq, Piece::Sequential { start: base }));
                return Some(Stopped {
                    under_way: buf,
                    input,
                    error: Some(error),
                });
            }
        };
        if read.is_empty() {
            if line < buf.len() {
                records += 1; // the last record, without a line end
            }
            if records > 0 {
                let (chunk, _) = match wait(buf, input) {
                    Ok(both) => both,
                    Err(stopped) => return stopped,
                };
                dispatch(seq, base, chunk, first, records, true);
                seq += 1;
            }
            let _ = pieces.send((seq, Piece::End));
            return None;
        }
        reads.push(base + buf.len() as u64);
        buf.extend_from_slice(read);
        let n = read.len();
        input.consume(n);
    }
}

/// The reading thread's side: settles chunks in file order, hands a token back for each, and
/// goes over to the one-thread reader at the first chunk that needs it.
#[allow(clippy::too_many_arguments)]
fn settle<'scope, R, S>(
    validator: &mut DatasetValidator<'_>,
    header: usize,
    heard: Receiver<(u64, Piece)>,
    tokens: SyncSender<()>,
    recycle: Sender<Vec<u8>>,
    stop: &AtomicBool,
    cutter: std::thread::ScopedJoinHandle<'scope, (Vec<u64>, Option<Stopped<R>>)>,
    sequential: S,
) -> Result<()>
where
    R: BufRead + Send,
    S: FnOnce(&mut DatasetValidator<'_>, usize, u64, Box<dyn Read + Send + '_>) -> Result<()>,
{
    let mut waiting: BTreeMap<u64, Piece> = BTreeMap::new();
    let (mut next, mut next_record) = (0u64, 1u64);
    let resume_at = loop {
        let piece = match waiting.remove(&next) {
            Some(piece) => piece,
            None => match heard.recv() {
                Ok((seq, piece)) => {
                    waiting.insert(seq, piece);
                    continue;
                }
                // Every sender is gone without an end: the cutter panicked. Its panic is
                // this thread's (as the one-thread reader's decoding thread's is).
                Err(_) => match cutter.join() {
                    Err(panic) => std::panic::resume_unwind(panic),
                    Ok(_) => {
                        return Err(crate::Error::Internal(
                            "the CSV cutter stopped without an end (a bug in pmm)".into(),
                        ));
                    }
                },
            },
        };
        match piece {
            Piece::Chunk {
                start,
                bytes,
                records,
                result,
            } => match *result {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(None) => {
                    let result = Box::new(Ok(None));
                    let piece = Piece::Chunk {
                        start,
                        bytes,
                        records,
                        result,
                    };
                    waiting.insert(next, piece);
                    break next;
                }
                Ok(Some((examined, parsed))) => {
                    validator.add_decoding(parsed);
                    validator.push_examined(examined?, next_record)?;
                    next_record += records;
                    next += 1;
                    let _ = recycle.send(bytes);
                    let _ = tokens.try_send(());
                }
            },
            Piece::Sequential { start } => {
                waiting.insert(next, Piece::Sequential { start });
                break next;
            }
            Piece::End => return Ok(()),
        }
    };
    // The rest of the file, from chunk `resume_at`'s start, goes to the one-thread reader.
    stop.store(true, Ordering::Release);
    drop(tokens);
    let (reads, stopped) = match cutter.join() {
        Ok(cut) => cut,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    // Every chunk cut has been or will be heard of: the cutter and the jobs send before they
    // drop their senders.
    while let Ok((seq, piece)) = heard.recv() {
        waiting.insert(seq, piece);
    }
    let mut rest: Vec<u8> = Vec::new();
    let mut from = None;
    for (_, piece) in waiting.range_mut(resume_at..) {
        match piece {
            Piece::Chunk { start, bytes, .. } => {
                from.get_or_insert(*start);
                rest.append(bytes);
            }
            Piece::Sequential { start } => {
                from.get_or_insert(*start);
            }
            Piece::End => {}
        }
    }
    // The first chunk starts with the header, which the reader passes over.
    let skip = if resume_at == 0 { header } else { 0 };
    // arrow words some errors by how the bytes came in calls ("got more than 6" or "got 7"):
    // the bytes read again come in the pieces the input gave them in, as they came to the
    // one-thread reader.
    let from = from.unwrap_or_default();
    let replay = |bytes: Vec<u8>| Replay {
        cuts: (reads.iter())
            .filter(|&&read| read > from)
            .map(|&read| (read - from) as usize)
            .collect(),
        bytes,
        at: 0,
    };
    let tail: Box<dyn Read + Send> = match stopped {
        Some(Stopped {
            mut under_way,
            input,
            error,
        }) => {
            rest.append(&mut under_way);
            match error {
                Some(error) => Box::new(replay(rest).chain(Failing(Some(error)))),
                None => Box::new(replay(rest).chain(input)),
            }
        }
        // The cutter reached the file's end: every byte is in the chunks.
        None => Box::new(replay(rest)),
    };
    sequential(validator, skip, next_record - 1, tail)
}

/// Bytes read again, given in the pieces that end at `cuts` (where the input's reads began).
struct Replay {
    bytes: Vec<u8>,
    at: usize,
    cuts: std::collections::VecDeque<usize>,
}

impl Read for Replay {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.cuts.front().is_some_and(|&cut| cut <= self.at) {
            self.cuts.pop_front();
        }
        let end = self.cuts.front().copied().unwrap_or(self.bytes.len());
        let end = end.min(self.bytes.len()).min(self.at + out.len());
        let n = end - self.at;
        out[..n].copy_from_slice(&self.bytes[self.at..end]);
        self.at = end;
        Ok(n)
    }
}

/// A reader that fails once with the error the file's read ended on, then ends.
struct Failing(Option<std::io::Error>);

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        match self.0.take() {
            Some(error) => Err(error),
            None => Ok(0),
        }
    }
}
