//! Reading back Prometheus exposition text, to check what reached a textfile, a Pushgateway
//! or a scrape. Strict where a general-purpose
//! parser is lenient: a line it cannot read is an error, not a line skipped.

/// One sample of the text exposition format.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name.
    pub name: String,
    /// Labels by name.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Value.
    pub value: f64,
}

/// Reads back the samples of exposition text as pmm writes it (no timestamps; label
/// values with `\\`, `\"` and `\n` escapes). For checks of what reached a file, a Pushgateway or
/// a scrape; comment lines are skipped.
pub fn parse_samples(text: &str) -> Result<Vec<Sample>, String> {
    let mut samples = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |what: &str| format!("line {}: {what}: {line}", number + 1);
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => return Err(bad("no value")),
        };
        let mut labels = std::collections::BTreeMap::new();
        let mut rest = rest;
        if let Some(inner) = rest.strip_prefix('{') {
            let mut chars = inner.char_indices().peekable();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '}' => {
                        end = Some(i);
                        break;
                    }
                    ',' | ' ' => continue,
                    _ => {
                        let eq = inner[i..].find('=').ok_or_else(|| bad("label without ="))? + i;
                        let key = inner[i..eq].to_string();
                        while chars.peek().is_some_and(|&(j, _)| j <= eq + 1) {
                            chars.next();
                        }
                        let mut value = String::new();
                        let mut closed = false;
                        while let Some((_, c)) = chars.next() {
                            match c {
                                '\\' => match chars.next() {
                                    Some((_, 'n')) => value.push('\n'),
                                    Some((_, other)) => value.push(other),
                                    None => return Err(bad("dangling escape")),
                                },
                                '"' => {
                                    closed = true;
                                    break;
                                }
                                other => value.push(other),
                            }
                        }
                        if !closed {
                            return Err(bad("unterminated label value"));
                        }
                        labels.insert(key, value);
                    }
                }
            }
            let end = end.ok_or_else(|| bad("no closing brace"))?;
            rest = &inner[end + 1..];
        }
        let value = rest
            .split_whitespace()
            .next()
            .ok_or_else(|| bad("no value"))?;
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse::<f64>().map_err(|_| bad("value is not a number"))?,
        };
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_read_back_with_escapes() {
        let text = "# HELP m x\n# TYPE m gauge\nm{a=\"1\",b=\"q\\\"x\\\\y\"} 2.5\nn 3\n";
        let samples = parse_samples(text).unwrap();
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].name, "m");
        assert_eq!(samples[0].labels["b"], "q\"x\\y");
        assert_eq!(samples[0].value, 2.5);
        assert_eq!(samples[1].name, "n");
        assert!(samples[1].labels.is_empty());
        assert!(parse_samples("m{a=\"1} 2\n").is_err());
    }
}
