//! The optional configuration file named by `CHORUS_CONFIG`: `KEY=value` lines, `#`
//! comments, blank lines ignored, optional quotes around the value. It uses the same
//! names as the environment, so there is one list of settings; the environment wins.

/// A malformed line in a config file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: expected KEY=value")]
pub struct EnvFileError {
    /// 1-based line number.
    pub line: usize,
}

/// Parses the file's text into `(key, value)` pairs in file order.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, EnvFileError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (key, value) = line.split_once('=').ok_or(EnvFileError { line: i + 1 })?;
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(EnvFileError { line: i + 1 });
        }
        let value = value.trim();
        let value = strip_quotes(value);
        out.push((key.to_string(), value.to_string()));
    }
    Ok(out)
}

fn strip_quotes(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs_comments_and_quotes() {
        let text = "# bridge\nCHORUS_HTTP_ADDR=0.0.0.0:8080\n\nexport CHORUS_LOG = \"debug\"\n";
        let pairs = parse(text).unwrap();
        assert_eq!(
            pairs,
            vec![
                ("CHORUS_HTTP_ADDR".into(), "0.0.0.0:8080".into()),
                ("CHORUS_LOG".into(), "debug".into())
            ]
        );
    }

    #[test]
    fn rejects_a_line_without_equals() {
        assert_eq!(parse("A=1\nnonsense\n"), Err(EnvFileError { line: 2 }));
    }
}
