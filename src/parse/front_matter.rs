//! Optional front matter (`+++` TOML or `---` YAML) of hand-written events. What it
//! says wins over what the body implies.

use crate::diag::Diagnostic;
use chrono::{DateTime, FixedOffset, NaiveDate};

#[derive(Debug, Default, PartialEq)]
pub struct FrontMatter {
    pub title: Option<String>,
    pub date: Option<NaiveDate>,
    pub time: Option<DateTime<FixedOffset>>,
    pub contexts: Option<Vec<String>>,
    pub id: Option<String>,
}

#[derive(Clone, Copy)]
pub enum Format {
    Toml,
    Yaml,
}

/// Parses the text between the fences; `first_line` is the file line of that text,
/// so that errors point into the file.
pub fn parse(format: Format, text: &str, first_line: usize) -> Result<FrontMatter, Diagnostic> {
    let value: serde_json::Value = match format {
        Format::Toml => toml::from_str::<toml::Table>(text)
            .map_err(|e| {
                let (line, col) = e.span().map_or((0, 0), |s| line_col(text, s.start));
                at(
                    text,
                    first_line,
                    line,
                    col,
                    format!("invalid TOML front matter: {}", e.message()),
                )
            })
            .and_then(|t| to_json(&t, first_line))?,
        Format::Yaml => {
            let v: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
                let (line, col) = e
                    .location()
                    .map_or((0, 0), |l| (l.line() - 1, l.column() - 1));
                at(
                    text,
                    first_line,
                    line,
                    col,
                    format!("invalid YAML front matter: {e}"),
                )
            })?;
            if v.is_null() {
                serde_json::Value::Object(Default::default())
            } else {
                serde_json::to_value(&v).map_err(|e| {
                    at(
                        text,
                        first_line,
                        0,
                        0,
                        format!("invalid YAML front matter: {e}"),
                    )
                })?
            }
        }
    };
    let serde_json::Value::Object(map) = value else {
        return Err(at(
            text,
            first_line,
            0,
            0,
            "front matter must be a table of keys".into(),
        ));
    };
    let mut fm = FrontMatter::default();
    let wrong = |key: &str, want: &str| {
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with(key))
            .unwrap_or(0);
        at(
            text,
            first_line,
            line,
            0,
            format!("front matter `{key}` must be {want}"),
        )
    };
    for (key, v) in &map {
        match key.as_str() {
            "title" => {
                fm.title = Some(
                    v.as_str()
                        .ok_or_else(|| wrong("title", "a string"))?
                        .to_owned(),
                )
            }
            "id" => {
                fm.id = Some(
                    v.as_str()
                        .ok_or_else(|| wrong("id", "a string"))?
                        .to_owned(),
                )
            }
            "contexts" => {
                let list = v
                    .as_array()
                    .ok_or_else(|| wrong("contexts", "a list of strings"))?;
                let names = list
                    .iter()
                    .map(|c| c.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| wrong("contexts", "a list of strings"))?;
                fm.contexts = Some(names);
            }
            "date" => {
                let s = v
                    .as_str()
                    .ok_or_else(|| wrong("date", "a date like 2017-11-02"))?;
                if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                    fm.date = Some(t.date_naive());
                    fm.time = Some(t);
                } else {
                    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .map_err(|_| wrong("date", "a date like 2017-11-02 or an RFC 3339 time"))?;
                    fm.date = Some(d);
                }
            }
            _ => {} // other keys belong to other tools (draft, tags, weight ...)
        }
    }
    Ok(fm)
}

/// TOML datetimes become RFC 3339 strings, like YAML's, so one code path reads both.
fn to_json(table: &toml::Table, first_line: usize) -> Result<serde_json::Value, Diagnostic> {
    let mut map = serde_json::Map::new();
    for (k, v) in table {
        let v = match v {
            toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
            other => serde_json::to_value(other).map_err(|e| {
                Diagnostic::error(first_line, 1, format!("invalid TOML front matter: {e}"), "")
            })?,
        };
        map.insert(k.clone(), v);
    }
    Ok(serde_json::Value::Object(map))
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count();
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count());
    (line, col)
}

fn at(text: &str, first_line: usize, line: usize, col: usize, message: String) -> Diagnostic {
    let snippet = text.lines().nth(line).unwrap_or("");
    Diagnostic::error(first_line + line, col + 1, message, snippet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_toml_and_yaml_alike() {
        let toml = "title = \"T\"\ndate = 2017-11-02\ncontexts = [\"A\", \"B\"]\nid = \"urn:x\"\n";
        let yaml = "title: T\ndate: \"2017-11-02\"\ncontexts: [A, B]\nid: \"urn:x\"\n";
        let a = parse(Format::Toml, toml, 2).unwrap();
        let b = parse(Format::Yaml, yaml, 2).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.date, NaiveDate::from_ymd_opt(2017, 11, 2));
        assert_eq!(a.contexts.unwrap(), ["A", "B"]);
    }

    #[test]
    fn keeps_explicit_times() {
        let fm = parse(Format::Toml, "date = 2017-11-02T10:30:00+01:00\n", 2).unwrap();
        assert_eq!(fm.time.unwrap().to_rfc3339(), "2017-11-02T10:30:00+01:00");
    }

    #[test]
    fn errors_point_into_the_file() {
        let e = parse(Format::Toml, "title = \"ok\"\ndate = [\n", 2).unwrap_err();
        assert!(e.line >= 3, "{e:?}");
        let e = parse(Format::Yaml, "title: [1, 2]\n", 2).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("title"));
    }
}
