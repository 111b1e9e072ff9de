//! Diagnostics about input files, shaped like a compiler's so that editors and
//! people can jump to the spot: `path:line:col: error: reason`, then the line.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One finding in one file. `line` and `col` are 1-based; `col` counts characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: {message}")]
pub struct Diagnostic {
    pub severity: Severity,
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// The offending line, for display; empty when there is none.
    pub snippet: String,
}

impl Diagnostic {
    pub fn error(line: usize, col: usize, message: impl Into<String>, snippet: &str) -> Self {
        Self::new(Severity::Error, line, col, message, snippet)
    }

    pub fn warning(line: usize, col: usize, message: impl Into<String>, snippet: &str) -> Self {
        Self::new(Severity::Warning, line, col, message, snippet)
    }

    fn new(
        severity: Severity,
        line: usize,
        col: usize,
        message: impl Into<String>,
        snippet: &str,
    ) -> Self {
        let snippet: String = snippet.chars().take(200).collect();
        Self {
            severity,
            line,
            col,
            message: message.into(),
            snippet,
        }
    }

    /// One line for a log: the compiler-style first line, the offending line
    /// after a bar.
    pub fn one_line(&self, path: &str) -> String {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut line = format!(
            "{path}:{}:{}: {level}: {}",
            self.line, self.col, self.message
        );
        if !self.snippet.is_empty() {
            line.push_str(" | ");
            line.push_str(&self.snippet);
        }
        line
    }

    /// The compiler-style form, with the path the user knows the file by.
    pub fn display<'a>(&'a self, path: &'a str) -> impl fmt::Display + 'a {
        Display { diag: self, path }
    }
}

struct Display<'a> {
    diag: &'a Diagnostic,
    path: &'a str,
}

impl fmt::Display for Display<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.diag;
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {level}: {}",
            self.path, d.line, d.col, d.message
        )?;
        if !d.snippet.is_empty() {
            let gutter = d.line.to_string().len();
            let pad = " ".repeat(gutter);
            let caret = " ".repeat(d.col.saturating_sub(1).min(200));
            write!(f, "\n{pad} |\n{} | {}\n{pad} | {caret}^", d.line, d.snippet)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_like_a_compiler() {
        let d = Diagnostic::error(3, 5, "invalid date", "### [2017-02-30](x)");
        assert_eq!(
            d.display("news/a.md").to_string(),
            "news/a.md:3:5: error: invalid date\n  |\n3 | ### [2017-02-30](x)\n  |     ^"
        );
        assert_eq!(
            d.one_line("news/a.md"),
            "news/a.md:3:5: error: invalid date | ### [2017-02-30](x)"
        );
    }
}
