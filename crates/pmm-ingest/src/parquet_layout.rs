//! What a Parquet file says about its own layout, read before the `parquet` crate trusts it.
//!
//! The `parquet` crate decodes a footer whole (its schema by recursion, one call per level of
//! nesting; every column chunk's record expanded about twenty times in memory) and sizes a
//! page's buffer by the uncompressed size its header claims. A member's file chooses all of
//! these. So before the crate sees a footer, [`check_footer`] walks its Thrift bytes without
//! recursion and without building anything: the schema's depth, its columns and its elements
//! are counted against the pipeline's `limits`; and before the crate sees a column chunk,
//! [`check_pages`] walks its page headers the way the crate's page reader does (a header,
//! then the page's compressed bytes) and refuses a page that claims to decompress past
//! `limits.max_batch_bytes`.
//!
//! Only Thrift's compact protocol is read (the one Parquet uses), with a bounded depth for the
//! structures skipped: a field nested deeper than [`MAX_THRIFT_DEPTH`] makes the footer
//! unreadable, as it would in the crate (whose limit is 64).
//!
//! Why one file of this length (about 380 lines before its tests): the compact-protocol
//! reader exists only for the footer and page walks, and the tests write small footers with a
//! writer of their own to hold the three together.

use pmm_catalog::Limits;

use crate::limits::LimitExceeded;

/// How deep a skipped Thrift structure may nest (Parquet's own structures nest about 5 deep).
const MAX_THRIFT_DEPTH: usize = 32;

/// Why a footer or a chunk's pages are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LayoutError {
    /// Past one of the pipeline's limits.
    #[error("{0}")]
    Limit(LimitExceeded),
    /// Not Parquet as the format defines it.
    #[error("{0}")]
    Malformed(String),
}

fn malformed(what: impl Into<String>) -> LayoutError {
    LayoutError::Malformed(what.into())
}

/// A reader of Thrift's compact protocol over a byte slice, every length checked against
/// what is left.
struct Compact<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// Compact-protocol type codes.
mod kind {
    pub const TRUE: u8 = 1;
    pub const FALSE: u8 = 2;
    pub const BYTE: u8 = 3;
    pub const I16: u8 = 4;
    pub const I32: u8 = 5;
    pub const I64: u8 = 6;
    pub const DOUBLE: u8 = 7;
    pub const BINARY: u8 = 8;
    pub const LIST: u8 = 9;
    pub const SET: u8 = 10;
    pub const MAP: u8 = 11;
    pub const STRUCT: u8 = 12;
    pub const UUID: u8 = 13;
}

/// A skip in progress: what is left of one open structure.
enum Open {
    /// A struct: fields until its stop byte.
    Struct { last_id: i16 },
    /// A list or set: `left` elements of one type.
    List { kind: u8, left: u64 },
    /// A map: `left` entries, each a key then a value.
    Map {
        key: u8,
        value: u8,
        left: u64,
        in_value: bool,
    },
}

impl<'a> Compact<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Compact { bytes, at: 0 }
    }

    fn byte(&mut self) -> Result<u8, LayoutError> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| malformed("it ends inside a structure"))?;
        self.at += 1;
        Ok(b)
    }

    fn advance(&mut self, n: u64) -> Result<(), LayoutError> {
        let left = (self.bytes.len() - self.at) as u64;
        if n > left {
            return Err(malformed(format!(
                "a field claims {n} bytes where {left} are left"
            )));
        }
        self.at += n as usize;
        Ok(())
    }

    fn varint(&mut self) -> Result<u64, LayoutError> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return Err(malformed("a number longer than 64 bits"));
            }
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed("a number longer than 64 bits"))
    }

    fn zigzag(&mut self) -> Result<i64, LayoutError> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn i32(&mut self) -> Result<i32, LayoutError> {
        i32::try_from(self.zigzag()?).map_err(|_| malformed("a 32-bit number out of range"))
    }

    /// The next field's (id, type) of the struct whose last field id is `last_id`; `None` at
    /// its stop byte.
    fn field(&mut self, last_id: &mut i16) -> Result<Option<(i16, u8)>, LayoutError> {
        let b = self.byte()?;
        if b == 0 {
            return Ok(None);
        }
        let kind = b & 0x0f;
        let delta = b >> 4;
        let id = if delta == 0 {
            i16::try_from(self.zigzag()?).map_err(|_| malformed("a field id out of range"))?
        } else {
            last_id.saturating_add(i16::from(delta))
        };
        *last_id = id;
        Ok(Some((id, kind)))
    }

    /// A list or set header: (element type, size).
    fn list_header(&mut self) -> Result<(u8, u64), LayoutError> {
        let b = self.byte()?;
        let size = match b >> 4 {
            15 => self.varint()?,
            n => u64::from(n),
        };
        let kind = b & 0x0f;
        // Every element takes at least one byte (booleans in a list do too).
        if size > (self.bytes.len() - self.at) as u64 {
            return Err(malformed(format!(
                "a list claims {size} elements in {} bytes",
                self.bytes.len() - self.at
            )));
        }
        Ok((kind, size))
    }

    /// Skips one value of type `kind`, with an explicit stack of open structures (no
    /// recursion) at most [`MAX_THRIFT_DEPTH`] deep.
    fn skip(&mut self, kind: u8) -> Result<(), LayoutError> {
        let mut stack: Vec<Open> = Vec::new();
        let mut next = Some(kind);
        loop {
            if let Some(kind) = next.take() {
                match kind {
                    kind::TRUE | kind::FALSE => {}
                    kind::BYTE => self.advance(1)?,
                    kind::I16 | kind::I32 | kind::I64 => {
                        self.varint()?;
                    }
                    kind::DOUBLE => self.advance(8)?,
                    kind::UUID => self.advance(16)?,
                    kind::BINARY => {
                        let n = self.varint()?;
                        self.advance(n)?;
                    }
                    kind::LIST | kind::SET | kind::MAP | kind::STRUCT => {
                        if stack.len() == MAX_THRIFT_DEPTH {
                            return Err(malformed(format!(
                                "its structures nest more than {MAX_THRIFT_DEPTH} deep"
                            )));
                        }
                        stack.push(match kind {
                            kind::STRUCT => Open::Struct { last_id: 0 },
                            kind::MAP => {
                                let left = self.varint()?;
                                let types = if left > 0 { self.byte()? } else { 0 };
                                if left > (self.bytes.len() - self.at) as u64 {
                                    return Err(malformed("a map claims more entries than bytes"));
                                }
                                Open::Map {
                                    key: types >> 4,
                                    value: types & 0x0f,
                                    left,
                                    in_value: false,
                                }
                            }
                            _ => {
                                let (kind, left) = self.list_header()?;
                                Open::List { kind, left }
                            }
                        });
                    }
                    other => return Err(malformed(format!("unknown Thrift type {other}"))),
                }
            }
            // The next value to skip, from the innermost open structure.
            let Some(top) = stack.last_mut() else {
                return Ok(());
            };
            match top {
                Open::Struct { last_id } => match self.field(last_id)? {
                    Some((_, kind)) => next = Some(kind),
                    None => {
                        stack.pop();
                    }
                },
                Open::List { kind, left } => {
                    if *left == 0 {
                        stack.pop();
                    } else {
                        *left -= 1;
                        // Booleans in a list are one byte each, not folded into a header.
                        next = Some(if matches!(*kind, kind::TRUE | kind::FALSE) {
                            kind::BYTE
                        } else {
                            *kind
                        });
                    }
                }
                Open::Map {
                    key,
                    value,
                    left,
                    in_value,
                } => {
                    if *in_value {
                        *in_value = false;
                        next = Some(*value);
                    } else if *left == 0 {
                        stack.pop();
                    } else {
                        *left -= 1;
                        *in_value = true;
                        next = Some(*key);
                    }
                }
            }
        }
    }
}

/// What [`check_footer`] learnt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FooterShape {
    /// Leaf columns of the schema.
    pub leaves: u64,
    /// Levels of groups above the deepest leaf (0 for a flat file).
    pub depth: u64,
    /// Row groups.
    pub row_groups: u64,
}

/// The length of the footer that the file's last eight bytes claim, checked against the
/// object's size at discovery and `limits.max_footer_bytes` before anything is fetched.
pub(crate) fn footer_length(
    tail: &[u8],
    object_size: u64,
    limits: &Limits,
) -> Result<u64, LayoutError> {
    let [.., a, b, c, d, p1, p2, p3, p4] = tail else {
        return Err(malformed(
            "it is shorter than a Parquet file's last 8 bytes",
        ));
    };
    match &[*p1, *p2, *p3, *p4] {
        b"PAR1" => {}
        b"PARE" => {
            return Err(malformed(
                "its footer is encrypted, which pmm does not read",
            ));
        }
        _ => {
            return Err(malformed(
                "it does not end with PAR1, the Parquet magic number",
            ));
        }
    }
    let length = u64::from(u32::from_le_bytes([*a, *b, *c, *d]));
    if length + 8 > object_size {
        return Err(malformed(format!(
            "its footer claims {length} bytes in a file of {object_size}"
        )));
    }
    if length > limits.max_footer_bytes {
        return Err(LayoutError::Limit(LimitExceeded::Footer {
            claimed: length,
            limit: limits.max_footer_bytes,
        }));
    }
    Ok(length)
}

/// Walks a footer's `FileMetaData` without building it: the schema's depth against
/// `limits.max_nesting`, its leaf columns against `limits.max_columns`, its elements against
/// what those two allow; every row count, value count, column chunk offset and size as a
/// number the `parquet` crate can take (none negative; it asserts, and would panic) and every
/// chunk inside the file's data, which ends at `data_end` (where the footer starts); the rest
/// is skipped with a bounded depth.
pub(crate) fn check_footer(
    footer: &[u8],
    data_end: u64,
    limits: &Limits,
) -> Result<FooterShape, LayoutError> {
    let mut input = Compact::new(footer);
    let mut shape = FooterShape {
        leaves: 0,
        depth: 0,
        row_groups: 0,
    };
    let mut last_id = 0;
    let mut schema_seen = false;
    while let Some((id, kind)) = input.field(&mut last_id)? {
        match (id, kind) {
            (2, kind::LIST) => {
                schema(&mut input, limits, &mut shape)?;
                schema_seen = true;
            }
            (3, kind::I64) => {
                if input.zigzag()? < 0 {
                    return Err(malformed("its footer claims a negative number of rows"));
                }
            }
            (4, kind::LIST) => {
                let (kind, groups) = input.list_header()?;
                if kind != kind::STRUCT {
                    return Err(malformed("its row groups are not a list of structures"));
                }
                shape.row_groups = groups;
                // One by one: their count was checked against the bytes.
                for group in 1..=groups {
                    row_group(&mut input, group, data_end)?;
                }
            }
            (_, kind) => input.skip(kind)?,
        }
    }
    if !schema_seen {
        return Err(malformed("its footer has no schema"));
    }
    Ok(shape)
}

/// A `RowGroup`: its row count and each column chunk's claims (see [`column_chunk`]).
fn row_group(input: &mut Compact<'_>, group: u64, data_end: u64) -> Result<(), LayoutError> {
    let mut last_id = 0;
    while let Some((id, kind)) = input.field(&mut last_id)? {
        match (id, kind) {
            (1, kind::LIST) => {
                let (kind, columns) = input.list_header()?;
                if kind != kind::STRUCT {
                    return Err(malformed("a row group's columns are not structures"));
                }
                for column in 1..=columns {
                    column_chunk(input, group, column, data_end)?;
                }
            }
            (3, kind::I64) => {
                if input.zigzag()? < 0 {
                    return Err(malformed(format!(
                        "row group {group} claims a negative number of rows"
                    )));
                }
            }
            (_, kind) => input.skip(kind)?,
        }
    }
    Ok(())
}

/// A `ColumnChunk`: where its bytes start (the dictionary page, else the first data page)
/// and how many there are, as the `parquet` crate will read them, inside the file's data.
fn column_chunk(
    input: &mut Compact<'_>,
    group: u64,
    column: u64,
    data_end: u64,
) -> Result<(), LayoutError> {
    let mut last_id = 0;
    while let Some((id, kind)) = input.field(&mut last_id)? {
        if (id, kind) != (3, kind::STRUCT) {
            input.skip(kind)?;
            continue;
        }
        let (mut values, mut size, mut data, mut dictionary) = (0, None, None, None);
        let mut last_id = 0;
        while let Some((id, kind)) = input.field(&mut last_id)? {
            match (id, kind) {
                (5, kind::I64) => values = input.zigzag()?,
                (7, kind::I64) => size = Some(input.zigzag()?),
                (9, kind::I64) => data = Some(input.zigzag()?),
                (11, kind::I64) => dictionary = Some(input.zigzag()?),
                (_, kind) => input.skip(kind)?,
            }
        }
        let chunk = format!("column chunk {column} of row group {group}");
        let (Some(size), Some(start)) = (size, dictionary.or(data)) else {
            return Err(malformed(format!(
                "{chunk} does not say where its bytes are"
            )));
        };
        if values < 0 || size < 0 || start < 0 || data.is_some_and(|d| d < 0) {
            return Err(malformed(format!(
                "{chunk} claims a negative size, offset or number of values"
            )));
        }
        let end = (start as u64).checked_add(size as u64);
        if end.is_none_or(|end| end > data_end) {
            return Err(malformed(format!(
                "{chunk} claims bytes {start}..{} past the end of the file's data (byte {data_end})",
                end.map_or_else(|| "(beyond 2^64)".to_string(), |e| e.to_string())
            )));
        }
    }
    Ok(())
}

/// The schema: a list of elements in depth-first order, each group followed by its
/// `num_children` children.
fn schema(
    input: &mut Compact<'_>,
    limits: &Limits,
    shape: &mut FooterShape,
) -> Result<(), LayoutError> {
    let (kind, elements) = input.list_header()?;
    if kind != kind::STRUCT {
        return Err(malformed("its schema is not a list of elements"));
    }
    // A leaf under max_nesting groups each: more elements than that cannot be a schema pmm
    // reads, whatever they are.
    let most = limits
        .max_columns
        .saturating_mul(limits.max_nesting.saturating_add(1))
        .saturating_add(1);
    if elements > most {
        return Err(LayoutError::Limit(LimitExceeded::Columns {
            found: elements,
            limit: limits.max_columns,
            what: "schema elements",
        }));
    }
    // Children still expected by each open group, the root's first.
    let mut open: Vec<u64> = Vec::new();
    for index in 0..elements {
        let mut children = None;
        let mut last_id = 0;
        while let Some((id, kind)) = input.field(&mut last_id)? {
            if (id, kind) == (5, kind::I32) {
                children = Some(input.i32()?);
            } else {
                input.skip(kind)?;
            }
        }
        if index > 0 {
            match open.last_mut() {
                Some(left) => *left -= 1,
                None => return Err(malformed("its schema has elements outside the root")),
            }
        }
        match children {
            Some(n) if n < 0 => {
                return Err(malformed("a schema group claims fewer than 0 children"));
            }
            Some(n) if n > 0 || index == 0 => {
                open.push(n as u64);
                // The root is level 0: a column directly under it is not nested.
                let depth = open.len() as u64 - 1;
                if depth > limits.max_nesting {
                    return Err(LayoutError::Limit(LimitExceeded::Nesting {
                        limit: limits.max_nesting,
                    }));
                }
                shape.depth = shape.depth.max(depth);
            }
            _ => {
                shape.leaves += 1;
                if shape.leaves > limits.max_columns {
                    return Err(LayoutError::Limit(LimitExceeded::Columns {
                        found: shape.leaves,
                        limit: limits.max_columns,
                        what: "leaf columns",
                    }));
                }
            }
        }
        while open.last() == Some(&0) {
            open.pop();
        }
    }
    if !open.is_empty() {
        return Err(malformed(
            "its schema's groups claim more children than it has",
        ));
    }
    Ok(())
}

/// Walks a column chunk's pages as the `parquet` crate's page reader does, header after
/// header, and refuses a page whose header claims to decompress to more than
/// `limits.max_batch_bytes` before any page is decompressed.
pub(crate) fn check_pages(chunk: &[u8], limits: &Limits) -> Result<(), LayoutError> {
    let mut input = Compact::new(chunk);
    while input.at < chunk.len() {
        let mut last_id = 0;
        let mut uncompressed = None;
        let mut compressed = None;
        while let Some((id, kind)) = input.field(&mut last_id)? {
            match (id, kind) {
                (2, kind::I32) => uncompressed = Some(input.i32()?),
                (3, kind::I32) => compressed = Some(input.i32()?),
                (_, kind) => input.skip(kind)?,
            }
        }
        let (Some(uncompressed), Some(compressed)) = (uncompressed, compressed) else {
            return Err(malformed("a page header lacks its sizes"));
        };
        let (Ok(uncompressed), Ok(compressed)) =
            (u64::try_from(uncompressed), u64::try_from(compressed))
        else {
            return Err(malformed("a page header claims a negative size"));
        };
        if uncompressed > limits.max_batch_bytes {
            return Err(LayoutError::Limit(LimitExceeded::Page {
                claimed: uncompressed,
                limit: limits.max_batch_bytes,
            }));
        }
        input.advance(compressed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact-protocol writer for the tests' footers.
    struct Writer(Vec<u8>, Vec<i16>);

    impl Writer {
        fn new() -> Self {
            Writer(Vec::new(), vec![0])
        }
        fn varint(&mut self, mut v: u64) {
            loop {
                let b = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    self.0.push(b);
                    return;
                }
                self.0.push(b | 0x80);
            }
        }
        fn field(&mut self, id: i16, kind: u8) {
            let last = self.1.last_mut().unwrap();
            let delta = id - *last;
            assert!((1..=15).contains(&delta));
            self.0.push(((delta as u8) << 4) | kind);
            *last = id;
        }
        fn i32(&mut self, id: i16, v: i32) {
            self.field(id, kind::I32);
            self.varint(((v << 1) ^ (v >> 31)) as u32 as u64);
        }
        fn i64(&mut self, id: i16, v: i64) {
            self.field(id, kind::I64);
            self.varint(((v << 1) ^ (v >> 63)) as u64);
        }
        fn string(&mut self, id: i16, s: &str) {
            self.field(id, kind::BINARY);
            self.varint(s.len() as u64);
            self.0.extend_from_slice(s.as_bytes());
        }
        fn list(&mut self, id: i16, kind: u8, n: u64) {
            self.field(id, kind::LIST);
            if n < 15 {
                self.0.push(((n as u8) << 4) | kind);
            } else {
                self.0.push(0xf0 | kind);
                self.varint(n);
            }
        }
        fn begin(&mut self) {
            self.1.push(0);
        }
        fn end(&mut self) {
            self.0.push(0);
            self.1.pop();
        }
    }

    /// A footer whose schema is `elements`: (name, children).
    fn footer(elements: &[(&str, Option<i32>)], row_groups: u64) -> Vec<u8> {
        let mut w = Writer::new();
        w.i32(1, 2);
        w.list(2, kind::STRUCT, elements.len() as u64);
        for (name, children) in elements {
            w.begin();
            if children.is_none() {
                w.i32(1, 1);
            }
            w.string(4, name);
            if let Some(n) = children {
                w.i32(5, *n);
            }
            w.end();
        }
        w.field(3, kind::I64);
        w.varint(0);
        w.list(4, kind::STRUCT, row_groups);
        for _ in 0..row_groups {
            w.begin();
            w.list(1, kind::STRUCT, 0);
            w.end();
        }
        w.0.push(0);
        w.0
    }

    /// A footer of one leaf column and one row group of `rows` rows whose chunk claims
    /// `size` bytes from `data` (and a dictionary page at `dictionary`).
    fn footer_with_chunk(rows: i64, size: i64, data: i64, dictionary: Option<i64>) -> Vec<u8> {
        let mut w = Writer::new();
        w.list(2, kind::STRUCT, 2);
        for (name, children) in [("root", Some(1)), ("a", None)] {
            w.begin();
            w.string(4, name);
            if let Some(n) = children {
                w.i32(5, n);
            }
            w.end();
        }
        w.list(4, kind::STRUCT, 1);
        w.begin();
        w.list(1, kind::STRUCT, 1);
        w.begin();
        w.field(3, kind::STRUCT);
        w.begin();
        w.i64(5, rows);
        w.i64(7, size);
        w.i64(9, data);
        if let Some(d) = dictionary {
            w.i64(11, d);
        }
        w.end();
        w.end();
        w.i64(3, rows);
        w.end();
        w.0.push(0);
        w.0
    }

    /// Regression: a negative chunk size panicked inside the `parquet` crate (an assertion in
    /// `byte_range`), and a chunk claiming 2^40 bytes was fetched as a 2^40-byte buffer.
    #[test]
    fn column_chunks_must_lie_inside_the_files_data() {
        let limits = Limits::default();
        let check = |bytes: Vec<u8>| check_footer(&bytes, 1000, &limits);
        assert!(check(footer_with_chunk(10, 500, 4, None)).is_ok());
        assert!(check(footer_with_chunk(10, 996, 4, None)).is_ok());
        assert!(check(footer_with_chunk(10, 500, 600, Some(4))).is_ok());
        for (rows, size, data, dictionary) in [
            (10, 997, 4, None),
            (10, 1 << 40, 4, None),
            (10, -5, 4, None),
            (10, 10, -4, None),
            (10, 10, 4, Some(-1)),
            (10, 10, 1_000_000_000, None),
            (-1, 10, 4, None),
            (10, i64::MAX, i64::MAX, None),
        ] {
            let e = check(footer_with_chunk(rows, size, data, dictionary)).unwrap_err();
            assert!(
                matches!(&e, LayoutError::Malformed(m) if m.contains("row group 1")),
                "{rows} {size} {data} {dictionary:?}: {e}"
            );
        }
    }

    #[test]
    fn a_flat_schema_is_counted() {
        let bytes = footer(&[("root", Some(2)), ("a", None), ("b", None)], 3);
        let shape = check_footer(&bytes, u64::MAX, &Limits::default()).unwrap();
        assert_eq!(
            shape,
            FooterShape {
                leaves: 2,
                depth: 0,
                row_groups: 3
            }
        );
    }

    /// Regression: a leaf inside thousands of single-child groups overflowed the stack of
    /// the thread that built the schema; the depth is now counted without recursion.
    #[test]
    fn a_deep_schema_is_refused_at_the_nesting_limit() {
        let mut elements = vec![("root", Some(1))];
        elements.extend(std::iter::repeat_n(("g", Some(1)), 100_000));
        elements.push(("leaf", None));
        let e = check_footer(&footer(&elements, 0), u64::MAX, &Limits::default()).unwrap_err();
        assert!(
            matches!(e, LayoutError::Limit(LimitExceeded::Columns { .. })),
            "{e}"
        );
        let limits = Limits {
            max_columns: 1_000_000,
            ..Limits::default()
        };
        let e = check_footer(&footer(&elements, 0), u64::MAX, &limits).unwrap_err();
        assert_eq!(
            e,
            LayoutError::Limit(LimitExceeded::Nesting {
                limit: limits.max_nesting
            })
        );
        let mut shallow = vec![("root", Some(1))];
        shallow.extend(std::iter::repeat_n(("g", Some(1)), 3));
        shallow.push(("leaf", None));
        assert_eq!(
            check_footer(&footer(&shallow, 1), u64::MAX, &limits)
                .unwrap()
                .depth,
            3
        );
    }

    #[test]
    fn lies_about_sizes_are_malformed_not_allocations() {
        let limits = Limits::default();
        // A list that claims more elements than the bytes left.
        let mut w = Writer::new();
        w.list(2, kind::STRUCT, 1 << 40);
        assert!(matches!(
            check_footer(&w.0, u64::MAX, &limits),
            Err(LayoutError::Malformed(_))
        ));
        // A group claiming more children than follow.
        let bytes = footer(&[("root", Some(5)), ("a", None)], 0);
        assert!(matches!(
            check_footer(&bytes, u64::MAX, &limits),
            Err(LayoutError::Malformed(_))
        ));
        // Too many leaves for max_columns.
        let mut wide = vec![("root", Some(1001))];
        wide.extend(std::iter::repeat_n(("c", None), 1001));
        assert!(matches!(
            check_footer(&footer(&wide, 0), u64::MAX, &limits),
            Err(LayoutError::Limit(LimitExceeded::Columns { .. }))
        ));
        // Truncated anywhere: an error, never a panic.
        let whole = footer(&[("root", Some(2)), ("a", None), ("b", None)], 2);
        for cut in 0..whole.len() {
            assert!(
                check_footer(&whole[..cut], u64::MAX, &limits).is_err(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn the_footer_length_is_checked_against_the_object_and_the_limit() {
        let limits = Limits::default();
        let tail = |n: u32| {
            let mut t = n.to_le_bytes().to_vec();
            t.extend_from_slice(b"PAR1");
            t
        };
        assert_eq!(footer_length(&tail(100), 200, &limits), Ok(100));
        assert!(matches!(
            footer_length(&tail(u32::MAX), 200, &limits),
            Err(LayoutError::Malformed(_))
        ));
        assert!(matches!(
            footer_length(&tail(u32::MAX), 1 << 40, &limits),
            Err(LayoutError::Limit(LimitExceeded::Footer { .. }))
        ));
        assert!(footer_length(b"PAR1", 100, &limits).is_err());
        let mut encrypted = tail(10);
        encrypted[7] = b'E';
        assert!(footer_length(&encrypted, 100, &limits).is_err());
    }

    #[test]
    fn pages_past_the_batch_limit_are_refused_before_decompression() {
        let limits = Limits {
            max_batch_bytes: 1000,
            ..Limits::default()
        };
        let page = |uncompressed: i32, body: &[u8]| {
            let mut w = Writer::new();
            w.i32(1, 0);
            w.i32(2, uncompressed);
            w.i32(3, body.len() as i32);
            w.0.push(0);
            w.0.extend_from_slice(body);
            w.0
        };
        let mut chunk = page(10, b"0123456789");
        chunk.extend(page(1000, b"abc"));
        assert_eq!(check_pages(&chunk, &limits), Ok(()));
        chunk.extend(page(1001, b"x"));
        assert_eq!(
            check_pages(&chunk, &limits),
            Err(LayoutError::Limit(LimitExceeded::Page {
                claimed: 1001,
                limit: 1000
            }))
        );
        assert!(matches!(
            check_pages(&page(-1, b""), &limits),
            Err(LayoutError::Malformed(_))
        ));
        // A page that claims more compressed bytes than the chunk holds.
        let mut short = page(10, b"0123456789");
        short.truncate(short.len() - 1);
        assert!(matches!(
            check_pages(&short, &limits),
            Err(LayoutError::Malformed(_))
        ));
    }
}
