//! The one module that parses YAML: every catalog, pipeline, registry and manifest file goes
//! through [`parse`], so the YAML library can be replaced in one place.
//!
//! Parsing is the first of two stages: it fills raw `*Spec` structs that mirror the file (with
//! `deny_unknown_fields`); the `check` steps of the other modules turn those into model types.
//! serde does not keep the position of every value, so the checks find the line of the key
//! they complain about with [`SourceText`], a small index over the file's lines.
//!
//! Why one file of this length (about 400 lines before its tests): what is refused before the
//! typed parse (nesting too deep, a key given twice) and how a problem finds its line are
//! read over the same text, so they stay together with the one call into the YAML library.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::problem::{Location, Problem};

/// Parses a YAML document into `T`, reporting the first syntax or shape error with its place.
/// No file the product reads nests deeper than this; deeper text is refused before parsing,
/// so a hostile manifest of nested brackets costs nothing (the parser's time grows fast with
/// depth).
pub(crate) const MAX_DEPTH: usize = 32;

///
/// A UTF-8 byte-order mark at the start (Windows Notepad writes one) is dropped; CR LF line
/// ends are YAML's own. A key given twice in one mapping, at any level, is refused, naming
/// both lines: serde would take the last one for a map (a disclosure override given twice
/// would publish at the level written last).
pub(crate) fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, Problem> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(location) = too_deep(text) {
        return Err(Problem::new(
            path,
            location,
            format!("the YAML is nested more than {MAX_DEPTH} levels deep"),
        ));
    }
    if let Err(err) = serde_yaml::from_str::<Unique>(text)
        && let Some((within, key)) = err.to_string().split_once(DUPLICATE)
    {
        let key = key.split(" at line ").next().unwrap_or(key);
        // serde_yaml places the error at the start of the mapping.
        let mapping = err
            .location()
            .map(|l| Location::new(l.line(), l.column()))
            .unwrap_or(Location::START);
        let lines = SourceText::new(text).key_lines(mapping, key);
        let within = match within.trim_end_matches(": ") {
            "" => "at the top level".to_string(),
            path => format!("in `{path}`"),
        };
        let (at, lines) = match lines.as_slice() {
            [first, second, ..] if first == second => (mapping, format!(" (both on line {first})")),
            [first, second, ..] => (
                Location::new(*second, mapping.column),
                format!(" (lines {first} and {second})"),
            ),
            _ => (mapping, String::new()),
        };
        return Err(Problem::new(
            path,
            at,
            format!(
                "`{key}` is given twice {within}{lines}: a key may appear once (pmm does not guess which one is meant); remove one"
            ),
        ));
    }
    serde_yaml::from_str::<T>(text).map_err(|err| {
        let location = err
            .location()
            .map(|l| Location::new(l.line(), l.column()))
            .unwrap_or(Location::START);
        Problem::new(path, location, clean_message(&err.to_string()))
    })
}

/// The start of the message of [`Unique`]'s error, followed by the key.
const DUPLICATE: &str = "duplicate key: ";

/// Any YAML document, walked as serde_yaml reads it (anchors and tags included) to refuse a
/// mapping that gives one key twice; nothing is kept.
struct Unique;

impl<'de> serde::Deserialize<'de> for Unique {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_none<E>(self) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Unique, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        while seq.next_element::<Unique>()?.is_some() {}
        Ok(Unique)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut keys = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<serde_yaml::Value>()? {
            if keys.contains(&key) {
                let shown = match &key {
                    serde_yaml::Value::String(s) => s.clone(),
                    other => serde_yaml::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                };
                return Err(serde::de::Error::custom(format!("{DUPLICATE}{shown}")));
            }
            keys.insert(key);
            map.next_value::<Unique>()?;
        }
        Ok(Unique)
    }
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<Unique, A::Error> {
        use serde::de::VariantAccess;
        let (_, variant) = data.variant::<serde_yaml::Value>()?;
        variant.newtype_variant::<Unique>()
    }
}

/// Where `text` first nests deeper than [`MAX_DEPTH`]: flow brackets (`[`, `{`) outside
/// quotes and comments, plus, on each line, its indentation and leading `- ` markers (two
/// columns per level). An over-estimate for odd but legal files, which do not exist here.
///
/// A quote hides the brackets after it only where YAML surely starts a quoted scalar with it:
/// at the start of a line's content, after `[` or `{`, after `,` inside brackets, or after
/// `: `, `- ` or `? `. Elsewhere (`a'b`, `x, 'y` outside brackets) it is a literal, as the
/// parser reads it, so a quote there cannot hide the brackets that follow. Inside double
/// quotes a backslash escapes the next character.
fn too_deep(text: &str) -> Option<Location> {
    let mut flow = 0usize;
    for (index, line) in text.lines().enumerate() {
        let bytes = line.as_bytes();
        let mut column = 0;
        while column < bytes.len() && (bytes[column] == b' ' || bytes[column] == b'-') {
            column += 1;
        }
        if flow == 0 && column / 2 > MAX_DEPTH {
            return Some(Location::new(index + 1, column + 1));
        }
        let mut quote: Option<u8> = None;
        let mut escaped = false;
        // Whether a quote at this point starts a quoted scalar.
        let mut scalar_start = true;
        for (at, &b) in bytes.iter().enumerate() {
            if let Some(q) = quote {
                if escaped {
                    escaped = false;
                } else if q == b'"' && b == b'\\' {
                    escaped = true;
                } else if b == q {
                    quote = None;
                    scalar_start = false;
                }
                continue;
            }
            let after_space = at > 0 && bytes[at - 1] == b' ';
            match b {
                b'\'' | b'"' if scalar_start => quote = Some(b),
                b'#' if at == 0 || after_space => break,
                b'[' | b'{' => {
                    flow += 1;
                    if flow > MAX_DEPTH {
                        return Some(Location::new(index + 1, at + 1));
                    }
                }
                b']' | b'}' => flow = flow.saturating_sub(1),
                _ => {}
            }
            let leading = |upto: usize| bytes[..upto].iter().all(|c| matches!(c, b' ' | b'-'));
            scalar_start = match b {
                b' ' | b'\t' => {
                    scalar_start
                        || (at > 0
                            && (matches!(bytes[at - 1], b':' | b'?')
                                || (bytes[at - 1] == b'-' && leading(at))))
                }
                b'[' | b'{' => true,
                b',' => flow > 0,
                b'-' => leading(at),
                _ => false,
            };
        }
    }
    None
}

/// Drops serde_yaml's own " at line L column C" suffix: the problem carries the place itself.
fn clean_message(message: &str) -> String {
    let message = match message.find(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    let message = message.trim();
    if message.is_empty() {
        "invalid YAML".to_string()
    } else {
        message.to_string()
    }
}

/// A file's text with the lookups the checks need to point at a key.
#[derive(Debug, Clone)]
pub(crate) struct SourceText<'a> {
    lines: Vec<&'a str>,
}

impl<'a> SourceText<'a> {
    /// Indexes a file's text.
    pub(crate) fn new(text: &'a str) -> Self {
        SourceText {
            lines: text.lines().collect(),
        }
    }

    /// The place of a key path such as `["scoring", "floor"]`: the first key is looked for at
    /// the top level, each following one after the line of the previous. Falls back to the
    /// place of the longest prefix found, and to the start of the file.
    pub(crate) fn key(&self, path: &[&str]) -> Location {
        let mut found = Location::START;
        let mut from = 0;
        for (depth, key) in path.iter().enumerate() {
            let hit = if depth == 0 {
                self.top_level_key(key)
            } else {
                self.find_key_after(from, key)
            };
            match hit {
                Some(location) => {
                    found = location;
                    from = location.line; // search the next key below this line
                }
                None => break,
            }
        }
        found
    }

    /// The place of the `index`-th list item (0-based) under a top-level key.
    pub(crate) fn item(&self, key: &str, index: usize) -> Location {
        let Some(start) = self.top_level_key(key) else {
            return Location::START;
        };
        let mut seen = 0;
        for (i, line) in self.lines.iter().enumerate().skip(start.line) {
            let trimmed = line.trim_start();
            if !line.starts_with(' ') && !line.starts_with('-') && !trimmed.is_empty() {
                break; // the next top-level key
            }
            if let Some(rest) = trimmed.strip_prefix('-')
                && (rest.is_empty() || rest.starts_with(' '))
            {
                if seen == index {
                    let column = line.len() - trimmed.len() + 1;
                    return Location::new(i + 1, column);
                }
                seen += 1;
            }
        }
        start
    }

    /// The place of `needle` (any text) at or after the line of a top-level key.
    pub(crate) fn text_after_key(&self, key: &str, needle: &str) -> Location {
        let start = self.top_level_key(key).unwrap_or(Location::START);
        for (i, line) in self.lines.iter().enumerate().skip(start.line - 1) {
            if let Some(col) = line.find(needle) {
                return Location::new(i + 1, col + 1);
            }
        }
        start
    }

    /// The text without a top-level key and its value (the key's line and the indented or
    /// empty lines under it), each line ending with a newline; `None` when there is no such
    /// key.
    pub(crate) fn without_top_level_key(&self, key: &str) -> Option<String> {
        let at = self.top_level_key(key)?.line - 1;
        let end = self
            .lines
            .iter()
            .enumerate()
            .skip(at + 1)
            .find(|(_, l)| !l.is_empty() && !l.starts_with([' ', '\t']))
            .map_or(self.lines.len(), |(i, _)| i);
        let mut out = String::new();
        for line in self.lines[..at].iter().chain(&self.lines[end..]) {
            out.push_str(line);
            out.push('\n');
        }
        Some(out)
    }

    /// The line (1-based) where the value of a block scalar key such as `sql: |` starts, and
    /// the indentation of that value, so an offset inside the value maps to the file.
    pub(crate) fn block_start(&self, key: &str) -> Option<(usize, usize)> {
        let at = self.top_level_key(key)?;
        let first = self
            .lines
            .iter()
            .enumerate()
            .skip(at.line)
            .find(|(_, l)| !l.trim().is_empty())?;
        let indent = first.1.len() - first.1.trim_start().len();
        Some((first.0 + 1, indent))
    }

    /// The lines (1-based) where the mapping that starts at `at` gives `key`: a block
    /// mapping's lines at the key's column, up to the first line indented less; a flow
    /// mapping's (`{...}`) entries after `{` or `,`, up to its closing brace.
    fn key_lines(&self, at: Location, key: &str) -> Vec<usize> {
        let starts_key = |rest: &str| {
            [key.to_string(), format!("'{key}'"), format!("\"{key}\"")]
                .iter()
                .any(|k| {
                    rest.strip_prefix(k.as_str())
                        .is_some_and(|r| r.trim_start().starts_with(':'))
                })
        };
        let column = at.column.saturating_sub(1);
        let mut found = Vec::new();
        let flow = self
            .lines
            .get(at.line.saturating_sub(1))
            .and_then(|l| l.get(column..))
            .is_some_and(|rest| rest.starts_with('{'));
        if flow {
            let mut depth = 0usize;
            for (index, text) in self.lines.iter().enumerate().skip(at.line - 1) {
                let from = if index + 1 == at.line { column } else { 0 };
                let mut after_separator = false;
                for (i, c) in text.char_indices().filter(|(i, _)| *i >= from) {
                    match c {
                        '{' | '[' => {
                            depth += 1;
                            after_separator = depth == 1;
                        }
                        '}' | ']' => {
                            depth -= 1;
                            if depth == 0 {
                                return found;
                            }
                        }
                        ',' if depth == 1 => after_separator = true,
                        c if c.is_whitespace() => {}
                        _ => {
                            if after_separator && depth == 1 && starts_key(&text[i..]) {
                                found.push(index + 1);
                            }
                            after_separator = false;
                        }
                    }
                }
            }
            return found;
        }
        for (index, text) in self.lines.iter().enumerate().skip(at.line - 1) {
            let content = text.trim_start();
            let indent = text.len() - content.len();
            if index + 1 > at.line
                && !content.is_empty()
                && !content.starts_with('#')
                && indent < column
            {
                break;
            }
            if text.get(column..).is_some_and(starts_key) {
                found.push(index + 1);
            }
        }
        found
    }

    fn top_level_key(&self, key: &str) -> Option<Location> {
        self.lines
            .iter()
            .position(|line| is_key_line(line, key))
            .map(|i| Location::new(i + 1, 1))
    }

    /// The first `key` below `from_line` (1-based), or in a flow mapping on that line itself
    /// (`scoring: {floor: 50, target: 100}`).
    fn find_key_after(&self, from_line: usize, key: &str) -> Option<Location> {
        let flow = |line: &str| {
            [format!("{{{key}:"), format!(" {key}:")]
                .iter()
                .find_map(|pattern| line.find(pattern.as_str()).map(|col| col + 2))
        };
        if let Some(col) = self
            .lines
            .get(from_line.saturating_sub(1))
            .and_then(|l| flow(l))
        {
            return Some(Location::new(from_line, col));
        }
        for (i, line) in self.lines.iter().enumerate().skip(from_line) {
            let trimmed = line.trim_start_matches([' ', '-']);
            if is_key_line(trimmed, key) {
                return Some(Location::new(i + 1, line.len() - trimmed.len() + 1));
            }
            if let Some(col) = flow(line) {
                return Some(Location::new(i + 1, col));
            }
        }
        None
    }
}

fn is_key_line(line: &str, key: &str) -> bool {
    line.strip_prefix(key)
        .is_some_and(|rest| rest.starts_with(':') || rest.starts_with(" :"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "id: a.b\nscoring:\n  floor: 1\n  target: 2\nflow: {a: 1, b: 2}\nlist:\n  - x\n  - {code: y}\nsql: |\n  SELECT 1\n  FROM t\n";

    #[test]
    fn finds_nested_keys_items_and_blocks() {
        let source = SourceText::new(TEXT);
        assert_eq!(source.key(&["scoring", "target"]), Location::new(4, 3));
        assert_eq!(source.key(&["missing"]), Location::START);
        assert_eq!(source.key(&["flow", "b"]), Location::new(5, 14));
        assert_eq!(source.item("list", 1), Location::new(8, 3));
        assert_eq!(source.block_start("sql"), Some((10, 2)));
    }

    #[test]
    fn parse_errors_carry_their_place() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct S {
            a: u32,
        }
        let err = parse::<S>(Path::new("f.yaml"), "a: 1\nb: 2\n").unwrap_err();
        assert_eq!(err.location, Location::new(2, 1));
        assert!(err.message.contains("unknown field `b`"), "{}", err.message);
        assert!(!err.message.contains("at line"), "{}", err.message);
    }

    /// Regression: a disclosure override given twice was taken at its last level (public).
    #[test]
    fn a_key_given_twice_is_refused_with_both_lines() {
        for (text, expected) in [
            (
                "member: XA\nyear: 2024\ndisclosure:\n  default: wco\n  overrides:\n    od.a: secretariat\n    od.b: wco\n    od.a: public\n",
                "m.yaml:8:5: `od.a` is given twice in `disclosure.overrides` (lines 6 and 8)",
            ),
            (
                "member: XA\r\nyear: 2024\r\nyear: 2025\r\n",
                "m.yaml:3:1: `year` is given twice at the top level (lines 2 and 3)",
            ),
            (
                "explanations:\n  - subject: a\n    text: x\n    subject: b\n",
                "`subject` is given twice in `explanations[0]` (lines 2 and 4)",
            ),
            (
                "overrides: {od.a: wco, od.a: public}\n",
                "`od.a` is given twice in `overrides` (both on line 1)",
            ),
        ] {
            let err = parse::<serde_yaml::Value>(Path::new("m.yaml"), text).unwrap_err();
            assert!(err.to_string().contains(expected), "{err}");
        }
        // The same key in two mappings is fine; so is a byte-order mark with CR LF.
        let fine = "\u{feff}a:\r\n  x: 1\r\nb:\r\n  x: 2\r\n";
        let value = parse::<serde_yaml::Value>(Path::new("m.yaml"), fine).unwrap();
        assert_eq!(value["b"]["x"], serde_yaml::Value::from(2));
        assert!(value.get("\u{feff}a").is_none() && value.get("a").is_some());
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = format!("a: {}{}", "[".repeat(100_000), "]".repeat(100_000));
        let clock = std::time::Instant::now();
        let err = parse::<serde_yaml::Value>(Path::new("m.yaml"), &deep).unwrap_err();
        assert!(clock.elapsed().as_secs() < 1);
        assert!(
            err.to_string().contains("nested more than 32 levels"),
            "{err}"
        );
        let dashes = format!("{}x", "- ".repeat(50_000));
        assert!(parse::<serde_yaml::Value>(Path::new("m.yaml"), &dashes).is_err());
        // Regression: a quote inside a plain scalar is a literal, and hid the brackets after it.
        let hidden = format!("a: [x'y, {}{}]\n", "[".repeat(5_000), "]".repeat(5_000));
        assert!(
            parse::<serde_yaml::Value>(Path::new("m.yaml"), &hidden)
                .unwrap_err()
                .to_string()
                .contains("nested more than 32 levels")
        );
        let escaped = format!(
            "a: [\"q\\\"\", {}{}]\n",
            "[".repeat(5_000),
            "]".repeat(5_000)
        );
        assert!(parse::<serde_yaml::Value>(Path::new("m.yaml"), &escaped).is_err());
        let block = format!("a: x, 'y {}\n", "[".repeat(40));
        assert!(
            parse::<serde_yaml::Value>(Path::new("m.yaml"), &block)
                .unwrap_err()
                .to_string()
                .contains("nested more than 32 levels")
        );
        let quoted = "a: '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['\nb:\n  - \"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\"\n  - [1, '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[']\n";
        assert!(parse::<serde_yaml::Value>(Path::new("m.yaml"), quoted).is_ok());
        let fine = "a: [1, [2, {b: \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}]] # [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n";
        assert!(parse::<serde_yaml::Value>(Path::new("m.yaml"), fine).is_ok());
    }
}
