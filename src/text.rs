//! Text repair: everything that turns the dirty bytes of an event file into clean
//! Unicode that is safe to put in XML. Pure functions, no allocation when nothing
//! needs fixing.

use std::borrow::Cow;

/// Decodes bytes as UTF-8, replacing invalid sequences with U+FFFD.
/// Returns the byte offset of the first invalid sequence, for the warning.
pub fn decode_utf8_lossy(bytes: &[u8]) -> (Cow<'_, str>, Option<usize>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (Cow::Borrowed(s.strip_prefix('\u{feff}').unwrap_or(s)), None),
        Err(e) => {
            let at = e.valid_up_to();
            let s = String::from_utf8_lossy(bytes).into_owned();
            let s = s.strip_prefix('\u{feff}').map(str::to_owned).unwrap_or(s);
            (Cow::Owned(s), Some(at))
        }
    }
}

/// How much of a file is looked at to tell text from binary.
const SNIFF: usize = 8192;

/// Whether bytes look like a text file rather than a binary one (an image, a
/// PDF, an archive) or text in an encoding other than UTF-8 throughout (UTF-16).
/// In the first 8 KiB, NULs, control characters other than whitespace and escape,
/// and bytes of invalid UTF-8 must stay under 30%: a text file with stray bad
/// bytes or Windows-1252 accents is still text (and repaired), while random
/// bytes are about two thirds suspect and UTF-16 half NULs.
pub fn is_text(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(SNIFF)];
    let control = |b: &u8| *b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b);
    let mut suspect = 0;
    let mut rest = sample;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                suspect += valid.as_bytes().iter().filter(|b| control(b)).count();
                break;
            }
            Err(e) => {
                let valid = &rest[..e.valid_up_to()];
                suspect += valid.iter().filter(|b| control(b)).count();
                // A sequence cut by the end of the sample is not held against it.
                let Some(bad) = e.error_len() else { break };
                suspect += bad;
                rest = &rest[e.valid_up_to() + bad..];
            }
        }
    }
    suspect * 10 <= sample.len() * 3
}

/// True for characters XML 1.0 forbids in a document (and that the `rss` and
/// `atom_syndication` writers would pass through, producing ill-formed XML).
pub fn is_xml_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// Removes characters XML 1.0 forbids.
pub fn strip_forbidden(s: &str) -> Cow<'_, str> {
    // They are ASCII controls or U+FFFE and U+FFFF, whose UTF-8 starts with
    // 0xEF: a scan of the bytes clears most text without decoding it.
    let suspect = |b: &u8| (*b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || *b == 0xef;
    if s.as_bytes().iter().any(suspect) && s.chars().any(is_xml_forbidden) {
        Cow::Owned(s.chars().filter(|&c| !is_xml_forbidden(c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// Windows-1252 bytes 0x80..=0x9F as Unicode (undefined bytes map to the C1
/// control of the same value, as WHATWG's decoder does).
const CP1252_HIGH: [char; 32] = [
    '\u{20ac}', '\u{81}', '\u{201a}', '\u{192}', '\u{201e}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2c6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8d}', '\u{17d}', '\u{8f}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2dc}', '\u{2122}', '\u{161}', '\u{203a}', '\u{153}', '\u{9d}', '\u{17e}', '\u{178}',
];

fn cp1252_byte(c: char) -> Option<u8> {
    match c as u32 {
        0xa0..=0xff => Some(c as u32 as u8),
        _ => CP1252_HIGH
            .iter()
            .position(|&h| h == c)
            .map(|i| 0x80 + i as u8),
    }
}

/// Repairs mojibake: UTF-8 text that was read as Windows-1252 and encoded again
/// (`accountâ€™s` -> `account’s`). Each run of non-ASCII characters is mapped back
/// to Windows-1252 bytes; the run is replaced only if those bytes are valid UTF-8
/// (the round trip is exact), so genuine `Café` or `Zürich` is never touched.
/// Text encoded twice over is repaired as many times, up to three.
pub fn repair_mojibake(s: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(s);
    for _ in 0..3 {
        match repair_once(&out) {
            Some(fixed) => out = Cow::Owned(fixed),
            None => break,
        }
    }
    out
}

fn repair_once(s: &str) -> Option<String> {
    // Only a run holding a character that maps back to a UTF-8 lead byte
    // (U+00C2..=U+00F4, all encoded after a 0xC3 byte) can be repaired.
    if !s.as_bytes().contains(&0xc3) {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let mut rest = s;
    while let Some(start) = rest.find(|c: char| !c.is_ascii()) {
        out.push_str(&rest[..start]);
        let run = &rest[start..];
        let end = run.find(|c: char| c.is_ascii()).unwrap_or(run.len());
        let run = &run[..end];
        match fix_run(run) {
            Some(fixed) => {
                out.push_str(&fixed);
                changed = true;
            }
            None => out.push_str(run),
        }
        rest = &rest[start + end..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// A run is repaired piecewise: it may hold several mojibake sequences, or one next
/// to a genuine accented letter. Greedily take the longest prefix at each position
/// whose cp1252 bytes form complete UTF-8 characters.
fn fix_run(run: &str) -> Option<String> {
    if !run.chars().any(|c| ('\u{c2}'..='\u{f4}').contains(&c)) {
        return None;
    }
    let bytes: Option<Vec<u8>> = run.chars().map(cp1252_byte).collect();
    let chars: Vec<char> = run.chars().collect();
    let bytes = bytes.unwrap_or_default();
    let mut out = String::new();
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        let fixed = (!bytes.is_empty())
            .then(|| utf8_char_at(&bytes[i..]))
            .flatten()
            .filter(|(_, len)| *len > 1);
        match fixed {
            Some((c, len)) => {
                out.push(c);
                i += len;
                changed = true;
            }
            None => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    changed.then_some(out)
}

/// Decodes one multi-byte UTF-8 character at the start of `b`, if there is one.
fn utf8_char_at(b: &[u8]) -> Option<(char, usize)> {
    let len = match b.first()? {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let s = std::str::from_utf8(b.get(..len)?).ok()?;
    s.chars().next().map(|c| (c, len))
}

/// Decodes HTML entities (`&amp;`, `&#39;`, `&eacute;` ...), as found in URLs and
/// headlines copied out of web pages.
pub fn decode_entities(s: &str) -> Cow<'_, str> {
    if s.contains('&') {
        html_escape::decode_html_entities(s)
    } else {
        Cow::Borrowed(s)
    }
}

/// Plain text of a line that may hold inline HTML: tags removed, entities decoded,
/// whitespace collapsed. A `<` not followed by a letter, `/` or `!` stays text
/// (`a < b`).
pub fn plain_text(s: &str) -> String {
    // Titles in the archive often end (or start) with a space.
    let trimmed = s.trim();
    match is_plain(trimmed) {
        true => trimmed.to_owned(),
        false => tidy(s),
    }
}

/// [`plain_text`] the long way.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' if !in_tag
                && chars
                    .peek()
                    .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!')) =>
            {
                in_tag = true
            }
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            _ => out.push(c),
        }
    }
    let decoded = decode_entities(&out);
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether [`plain_text`] would give `s` back as it is: no tag, no entity,
/// whitespace only as single spaces between words (most titles and names, once
/// trimmed).
fn is_plain(s: &str) -> bool {
    let mut after_space = true;
    for c in s.chars() {
        if c == '<' || c == '&' || (c.is_whitespace() && (c != ' ' || after_space)) {
            return false;
        }
        after_space = c == ' ';
    }
    !after_space || s.is_empty()
}

#[cfg(test)]
mod tests {

    #[test]
    fn text_is_told_from_binary() {
        let text: [&[u8]; 5] = [
            b"### [2017-11-2](/x)\n# Headline\n",
            "Zürich, 東京, accountâ€™s".as_bytes(),
            b"caf\xe9 cr\xe8me: Windows-1252 accents in ASCII text",
            b"a stray \x00 NUL and \x1b[31m escapes in a long enough line",
            b"",
        ];
        for t in text {
            assert!(is_text(t), "{:?}", String::from_utf8_lossy(t));
        }
        let utf16: Vec<u8> = "### [2017-11-2](/x)\n# Headline\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let mut noise = 0x2545_f491_u32;
        let random: Vec<u8> = (0..4096)
            .map(|_| {
                noise ^= noise << 13;
                noise ^= noise >> 17;
                noise ^= noise << 5;
                noise as u8
            })
            .collect();
        let binary: [&[u8]; 4] = [
            &[0, 159, 146, 150, 0xff, 0xfe],
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
            &utf16,
            &random,
        ];
        for b in binary {
            assert!(!is_text(b), "{b:?}");
        }
    }

    use super::*;

    #[test]
    fn repairs_the_seed_mojibake() {
        assert_eq!(repair_mojibake("accountâ€™s"), "account’s");
        assert_eq!(repair_mojibake("â€œquotedâ€\u{9d}"), "“quoted”");
    }

    #[test]
    fn leaves_genuine_text_alone() {
        for s in [
            "Café",
            "Zürich",
            "東京",
            "naïve façade",
            "ÂÃ",
            "€ 5",
            "plain",
        ] {
            assert_eq!(repair_mojibake(s), s, "{s}");
        }
    }

    #[test]
    fn repairs_double_encoding_and_mixed_runs() {
        let once = "’"; // E2 80 99
        let twice: String = once.bytes().map(cp1252_char).collect();
        let thrice: String = twice.bytes().map(cp1252_char).collect();
        assert_eq!(repair_mojibake(&thrice), "’");
        assert_eq!(repair_mojibake("Zürich Ã©tÃ©"), "Zürich été");
    }

    fn cp1252_char(b: u8) -> char {
        match b {
            0x80..=0x9f => CP1252_HIGH[(b - 0x80) as usize],
            _ => b as char,
        }
    }

    #[test]
    fn strips_xml_forbidden_controls() {
        assert_eq!(
            strip_forbidden("a\u{0}b\u{1b}c\td\ne\rf\u{fffe}"),
            "abc\td\ne\rf"
        );
        assert!(matches!(strip_forbidden("clean"), Cow::Borrowed(_)));
    }

    #[test]
    fn decodes_invalid_utf8_with_offset() {
        let (s, at) = decode_utf8_lossy(b"ab\xffcd");
        assert_eq!(s, "ab\u{fffd}cd");
        assert_eq!(at, Some(2));
        assert_eq!(decode_utf8_lossy("\u{feff}x".as_bytes()).0, "x");
    }

    #[test]
    fn plain_text_strips_tags_and_entities() {
        assert_eq!(plain_text("<b>Bold</b> &amp; <i>more</i>  "), "Bold & more");
        assert_eq!(plain_text("  spaced   out "), "spaced out");
        assert_eq!(plain_text("a < b > c"), "a < b > c");
    }

    proptest::proptest! {
        #[test]
        fn plain_text_passes_plain_text_through(s in "[a é<>&;/\t\n\u{a0}\u{3000}]{0,12}") {
            proptest::prop_assert_eq!(plain_text(&s), tidy(&s));
        }
    }

    #[test]
    fn plain_is_told() {
        assert!(is_plain("Zürich, 東京") && is_plain(""));
        assert!(
            !is_plain("a\u{a0}b") && !is_plain("x ") && !is_plain("a  b") && !is_plain("a & b")
        );
    }
}
