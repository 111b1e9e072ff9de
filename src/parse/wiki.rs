//! MediaWiki residue. The archive's text derives from Wikipedia, and some of its
//! markup survived the conversion: `''italic''`, `'''bold'''` and `{{template}}`
//! calls. Emphasis becomes markdown (summaries) or plain text (titles); templates
//! carry nothing a reader can use, so they go.

use std::borrow::Cow;

/// Removes `{{...}}` template calls, nested or not. An unclosed `{{` is text.
pub fn strip_templates(s: &str) -> Cow<'_, str> {
    if !s.contains("{{") {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        match template_end(&rest[start..]) {
            Some(len) => rest = &rest[start + len..],
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Byte length of the template at the start of `s` (which starts with `{{`).
fn template_end(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        match &bytes[i..i + 2] {
            b"{{" => {
                depth += 1;
                i += 2;
            }
            b"}}" => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Replaces wiki emphasis (`''x''`, `'''x'''`, `'''''x'''''`) with `italic` and
/// `bold` markers (`*`/`**` for markdown, empty for plain text). A line whose
/// quote runs do not pair up is left as it is: it is probably not markup.
pub fn emphasis<'a>(s: &'a str, italic: &str, bold: &str) -> Cow<'a, str> {
    if !s.contains("''") {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&line_emphasis(line, italic, bold).unwrap_or(Cow::Borrowed(line)));
    }
    Cow::Owned(out)
}

fn line_emphasis<'a>(line: &'a str, italic: &str, bold: &str) -> Option<Cow<'a, str>> {
    // Runs of two or more quotes: (start, length).
    let mut runs = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            let start = i;
            while i < bytes.len() && bytes[i] == b'\'' {
                i += 1;
            }
            if i - start >= 2 {
                runs.push((start, i - start));
            }
        } else {
            i += 1;
        }
    }
    if runs.is_empty() {
        return Some(Cow::Borrowed(line));
    }
    let (mut italics, mut bolds) = (0, 0);
    for &(_, len) in &runs {
        match len {
            2 => italics += 1,
            3 => bolds += 1,
            5 => {
                italics += 1;
                bolds += 1;
            }
            _ => return None,
        }
    }
    if italics % 2 != 0 || bolds % 2 != 0 {
        return None;
    }
    let mut out = String::with_capacity(line.len());
    let mut at = 0;
    let (mut in_bold, mut in_italic) = (false, false);
    for (start, len) in runs {
        out.push_str(&line[at..start]);
        match len {
            2 => {
                out.push_str(italic);
                in_italic = !in_italic;
            }
            3 => {
                out.push_str(bold);
                in_bold = !in_bold;
            }
            _ => {
                // Opening: bold outside italic; closing: the reverse.
                if in_bold {
                    out.push_str(italic);
                    out.push_str(bold);
                } else {
                    out.push_str(bold);
                    out.push_str(italic);
                }
                in_bold = !in_bold;
                in_italic = !in_italic;
            }
        }
        at = start + len;
    }
    out.push_str(&line[at..]);
    Some(Cow::Owned(out))
}

/// Title text: templates removed, emphasis marks dropped.
pub fn plain(s: &str) -> Cow<'_, str> {
    without_markup(s, "", "")
}

/// Summary markdown: templates removed, emphasis as markdown.
pub fn markdown(s: &str) -> Cow<'_, str> {
    without_markup(s, "*", "**")
}

fn without_markup<'a>(s: &'a str, italic: &str, bold: &str) -> Cow<'a, str> {
    match strip_templates(s) {
        Cow::Borrowed(b) => emphasis(b, italic, bold),
        Cow::Owned(o) => Cow::Owned(emphasis(&o, italic, bold).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_go() {
        let cases = [
            ("age {{age in years and days|1997|4|24}}.", "age ."),
            ("a {{x|{{y}}}} b", "a  b"),
            ("no templates", "no templates"),
            ("open {{ never closed", "open {{ never closed"),
            ("{{a}}{{b}}", ""),
        ];
        for (input, want) in cases {
            assert_eq!(strip_templates(input), want, "{input}");
        }
    }

    #[test]
    fn emphasis_pairs_become_markers() {
        let cases = [
            ("the MV ''Sewol'' sank", "the MV *Sewol* sank"),
            ("'''Died:''' X", "**Died:** X"),
            ("'''''both''''' x", "***both*** x"),
            ("it's ''odd", "it's ''odd"),
            ("''a''\n'''b", "*a*\n'''b"),
            ("Rock 'n' roll", "Rock 'n' roll"),
        ];
        for (input, want) in cases {
            assert_eq!(emphasis(input, "*", "**"), want, "{input}");
        }
        assert_eq!(plain("MV ''Sewol'' {{es icon}}"), "MV Sewol ");
    }
}
