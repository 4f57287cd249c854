//! Submitted text as messages show it. A member's file can hold anything (a megabyte line, a
//! NUL, an escape sequence for the terminal that prints the run's summary), so every piece of
//! it that goes into a message or a column of `validation_issues` passes through [`shown`].

/// Whether a character is written as a `\u` escape in a message: control characters, and the
/// invisible format characters that change how the text around them is shown (the bidi
/// overrides and isolates such as U+202E and U+2066, zero-width characters, the byte-order
/// mark, line and paragraph separators): a file name or value holding one could make a
/// message or the terminal show something else than what the file holds.
pub fn is_escaped(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}'
                | '\u{600}'..='\u{605}'
                | '\u{61c}'
                | '\u{6dd}'
                | '\u{70f}'
                | '\u{890}'..='\u{891}'
                | '\u{8e2}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{110bd}'
                | '\u{110cd}'
                | '\u{13430}'..='\u{1343f}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0001}'
                | '\u{e0020}'..='\u{e007f}'
        )
}

/// At most this many characters of submitted text are shown, then `…`.
pub const MAX_SHOWN_CHARS: usize = 120;

/// `text` as a message may show it: control and format characters ([`is_escaped`]) written as
/// `\u0000` escapes, and cut
/// to [`MAX_SHOWN_CHARS`] characters (escapes counted as written) followed by `…`.
pub fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_SHOWN_CHARS * 2));
    let mut count = 0;
    for c in text.chars() {
        if is_escaped(c) {
            let escape = format!("\\u{:04x}", c as u32);
            if count + escape.len() > MAX_SHOWN_CHARS {
                out.push('…');
                return out;
            }
            out.push_str(&escape);
            count += escape.len();
        } else {
            if count == MAX_SHOWN_CHARS {
                out.push('…');
                return out;
            }
            out.push(c);
            count += 1;
        }
    }
    out
}

/// At most this many characters of a message built by another parser (CSV, JSON, YAML)
/// around submitted text.
pub const MAX_MESSAGE_CHARS: usize = 1000;

/// A message from another parser that may quote submitted text: control characters escaped,
/// each quoted piece (between backticks or double quotes) cut as [`shown`] cuts, and the
/// whole cut to [`MAX_MESSAGE_CHARS`].
pub fn shown_within(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_MESSAGE_CHARS));
    let mut rest = message;
    while let Some(start) = rest.find(['`', '"']) {
        let quote = rest.as_bytes()[start] as char;
        out.push_str(&shown_unbounded(&rest[..=start]));
        let after = &rest[start + 1..];
        match after.find(quote) {
            Some(end) => {
                out.push_str(&shown(&after[..end]));
                out.push(quote);
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&shown(after));
                rest = "";
            }
        }
    }
    out.push_str(&shown_unbounded(rest));
    if out.chars().count() > MAX_MESSAGE_CHARS {
        out = out.chars().take(MAX_MESSAGE_CHARS).collect();
        out.push('…');
    }
    out
}

/// Control characters escaped, nothing cut.
fn shown_unbounded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_escaped(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// A submitted path (`member=XA/year=2024/<name>`) as shown: each part through [`shown`].
pub fn shown_path(path: &str) -> String {
    path.split('/').map(shown).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_long_text_is_cut() {
        assert_eq!(
            shown("a\u{0}b\nc\u{1b}[31m"),
            "a\\u0000b\\u000ac\\u001b[31m"
        );
        let long = "é".repeat(500);
        let cut = shown(&long);
        assert_eq!(cut.chars().count(), MAX_SHOWN_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(
            shown(&"x".repeat(MAX_SHOWN_CHARS)),
            "x".repeat(MAX_SHOWN_CHARS)
        );
        let nuls = shown(&"\u{0}".repeat(100));
        assert!(nuls.chars().count() <= MAX_SHOWN_CHARS + 1, "{nuls}");
        assert!(nuls.ends_with('…'));
        let message = format!("unknown field `{}`, expected `a`\n", "k".repeat(300));
        let within = shown_within(&message);
        assert!(within.starts_with("unknown field `kkk"), "{within}");
        assert!(within.ends_with("…`, expected `a`\\u000a"), "{within}");
        assert!(shown_within(&"z".repeat(5000)).chars().count() <= MAX_MESSAGE_CHARS + 1);
        // Bidi overrides and isolates, zero-width characters: escaped like control characters.
        assert_eq!(shown("abc\u{202e}fdp.exe"), "abc\\u202efdp.exe");
        assert_eq!(
            shown("\u{2066}x\u{200b}\u{2028}é"),
            "\\u2066x\\u200b\\u2028é"
        );
        assert_eq!(shown_within("column `a\u{202e}b`"), "column `a\\u202eb`");
        assert_eq!(
            shown_path("member=XA/year=2024/a\nb.csv"),
            "member=XA/year=2024/a\\u000ab.csv"
        );
    }
}
