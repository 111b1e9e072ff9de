use super::*;
use crate::diag::Severity;

const SEED: &[u8] = include_bytes!("../../tests/fixtures/seed.txt");

fn opts() -> ParseOptions {
    ParseOptions::new(1 << 20, crate::links::example())
}

fn parse_str(s: &str) -> Result<Parsed, Diagnostic> {
    parse(s.as_bytes(), &opts())
}

fn error_of(s: &str) -> Diagnostic {
    parse_str(s).expect_err("should not parse")
}

#[test]
fn seed_parses_to_exact_values() {
    let Parsed { event, warnings } = parse(SEED, &opts()).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(event.date, NaiveDate::from_ymd_opt(2017, 11, 2).unwrap());
    assert_eq!(
        &*event.title,
        "U.S. President Donald Trump's main social media account is suspended for 11 minutes. Twitter blames the incident on an employee and says it is \"taking steps to prevent this from happening again.\""
    );
    assert_eq!(
        &*event.key,
        "/news/2017/11/2/u-s-president-donald-trump-s-main-social-media-account-is-suspended-for-11-minutes-twitter-blames-the-incident-on-an-employee-and-says-it.md"
    );
    assert_eq!(
        &*event.summary_html,
        "<p>Company initially blamed human error for @realdonaldtrump account’s 11-minute outage but then revealed it was sabotaged by rogue worker</p>\n"
    );
    assert_eq!(
        event.sources.as_ref(),
        [Source {
            name: "The Guardian".into(),
            url: "https://www.theguardian.com/us-news/2017/nov/02/trump-twitter-account-offline"
                .into()
        }]
    );
    assert_eq!(
        event.image.as_deref(),
        Some("https://i.guim.co.uk/img/media/cec7302328131f1a9a5554c96eb5d28e98ddb280/78_182_4272_2563/master/4272.jpg?w=1200&h=630&q=55&auto=format&usm=12&fit=crop&crop=faces%2Centropy&bm=normal&ba=bottom%2Cleft&blend64=aHR0cHM6Ly91cGxvYWRzLmd1aW0uY28udWsvMjAxNi8wNS8yNS9vdmVybGF5LWxvZ28tMTIwMC05MF9vcHQucG5n&s=c10add9a64c2477cfdd7d50ec9571ac3")
    );
    let contexts: Vec<&str> = event.contexts.iter().map(|c| &**c).collect();
    assert_eq!(
        contexts,
        ["Donald Trump", "Donald Trump on social media", "Twitter"]
    );
    assert_eq!(event.related.len(), 5);
    assert_eq!(
        event.related[0].key.as_deref(),
        Some("/news/2017/7/4/cnn-is-accused-of-threatening-to-reveal-the-personal-identity-of-a-reddit-user-who-made-a-gif-depicting-united-states-president-donald-trump.md")
    );
    assert_eq!(
        &*event.related[3].title,
        "U.S. President Donald Trump visits Japan amidst the 2017 North Korea crisis."
    );
    assert_eq!(
        crate::links::example().page_url(event.related[3].key.as_ref().unwrap()),
        "https://example.org/news/2017/11/6/u-s-president-donald-trump-visits-japan-amidst-the-2017-north-korea-crisis.html"
    );
    assert_eq!(
        event.related[3].url, None,
        "derived from the key, not stored"
    );
}

#[test]
fn crlf_and_zero_padded_dates_parse_the_same() {
    let crlf: Vec<u8> = String::from_utf8_lossy(SEED)
        .replace('\n', "\r\n")
        .into_bytes();
    let a = parse(SEED, &opts()).unwrap().event;
    let b = parse(&crlf, &opts()).unwrap().event;
    assert_eq!(a, b);
    let padded = String::from_utf8_lossy(SEED).replace("[2017-11-2]", "[2017-11-02]");
    assert_eq!(parse_str(&padded).unwrap().event, a);
}

#[test]
fn bad_dates_are_errors_with_positions() {
    let e = error_of("### [2017-02-30](/news/2017/2/30/index.md)\n\n# Title\n");
    assert_eq!((e.line, e.col, e.severity), (1, 6, Severity::Error));
    assert!(e.message.contains("2017-02-30"), "{}", e.message);
    let e = error_of("\n\n### [yesterday](/x)\n# T\n");
    assert_eq!((e.line, e.col), (3, 6));
}

#[test]
fn missing_parts_are_errors() {
    let cases = [
        ("", 1, "empty file"),
        ("   \n\n", 1, "empty file"),
        ("# Headline only\n", 1, "missing day heading"),
        ("### [2017-11-2](/x)\n\nJust text\n", 3, "missing headline"),
        ("### [2017-11-2](/x)\n", 2, "missing headline"),
        ("### [2017-11-2](/x)\n#   \n", 2, "empty headline"),
        ("+++\ntitle = 1\n", 1, "never closed"),
    ];
    for (input, line, message) in cases {
        let e = error_of(input);
        assert_eq!(e.line, line, "{input:?}: {e:?}");
        assert!(e.message.contains(message), "{input:?}: {}", e.message);
    }
}

#[test]
fn oversized_files_are_refused() {
    let opts = ParseOptions::new(100, crate::links::example());
    let e = parse(&[b'x'; 101], &opts).unwrap_err();
    assert!(e.message.contains("over the limit of 100"), "{}", e.message);
}

#[test]
fn dirty_bytes_are_cleaned() {
    let mut input =
        b"### [2017-11-2](/x)\n# Bad\x00 \x1b[31mbytes\xff here\n\nText\x0c with \xe2\x80 cut\n"
            .to_vec();
    input.extend_from_slice("### Sources:\n1. [A](https://a.example/?x=1&amp;y=2)\n".as_bytes());
    let Parsed { event, warnings } = parse(&input, &opts()).unwrap();
    assert_eq!(&*event.title, "Bad [31mbytes\u{fffd} here");
    assert_eq!(&*event.summary_html, "<p>Text with \u{fffd} cut</p>\n");
    assert_eq!(&*event.sources[0].url, "https://a.example/?x=1&y=2");
    assert_eq!(warnings.len(), 1);
    assert_eq!((warnings[0].line, warnings[0].col), (2, 18));
}

#[test]
fn html_in_headlines_is_stripped_and_script_never_survives() {
    let e = parse_str("### [2017-11-2](/x)\n# <b>Bold</b> &amp; <script>x</script>move\n\n<script>alert(1)</script>\n<img src=x onerror=alert(1)>\n")
        .unwrap()
        .event;
    assert_eq!(&*e.title, "Bold & xmove");
    assert!(
        !e.summary_html.contains("script") && !e.summary_html.contains("onerror"),
        "{}",
        e.summary_html
    );
}

#[test]
fn front_matter_wins() {
    let input = "+++\ntitle = \"Front title\"\ndate = 2020-01-05\ncontexts = [\"Zürich\", \"C++\"]\nid = \"urn:uuid:1\"\n+++\n### [2017-11-2](/x)\n# Body title\n\nSummary\n";
    let e = parse_str(input).unwrap().event;
    assert_eq!(&*e.title, "Front title");
    assert_eq!(e.date, NaiveDate::from_ymd_opt(2020, 1, 5).unwrap());
    assert_eq!(
        e.contexts.iter().map(|c| &**c).collect::<Vec<_>>(),
        ["C++", "Zürich"]
    );
    assert_eq!(e.id.as_deref(), Some("urn:uuid:1"));
    assert_eq!(&*e.key, "/news/2020/1/5/front-title.md");
    let bare = parse_str("---\ntitle: Only front\ndate: \"2021-03-04\"\n---\nSome *text*.\n")
        .unwrap()
        .event;
    assert_eq!(&*bare.title, "Only front");
    assert_eq!(&*bare.summary_html, "<p>Some <em>text</em>.</p>\n");
}

#[test]
fn events_without_related_have_no_contexts() {
    let e = parse_str(
        "### [2017-11-2](/x)\n# Lonely\n\nText\n\n### Sources:\n\n1. [A](https://a.example)\n",
    )
    .unwrap()
    .event;
    assert!(e.contexts.is_empty() && e.related.is_empty());
}

#[test]
fn odd_list_lines_warn_and_go_on() {
    let input = "### [2017-11-2](/x)\n# T\n\n### Sources:\n\nnot a list\n1. [Wiki](https://en.wikipedia.org/wiki/Foo_(bar))\n1. [Bad](javascript:alert(1))\n### Elsewhere:\n- stuff\n";
    let Parsed { event, warnings } = parse_str(input).unwrap();
    assert_eq!(
        &*event.sources[0].url,
        "https://en.wikipedia.org/wiki/Foo_(bar)"
    );
    let lines: Vec<usize> = warnings.iter().map(|w| w.line).collect();
    assert_eq!(lines, [6, 8, 9]);
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    /// Pieces of the format, to build line soups that get deep into the parser.
    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("### [2017-11-2](/news/2017/11/2/index.md)".to_owned()),
            Just("# A headline ".to_owned()),
            Just("### Sources:".to_owned()),
            Just("### Related:".to_owned()),
            Just("+++".to_owned()),
            Just("---".to_owned()),
            Just("1. [Cover Image](https://x.example/a.jpg?w=1&amp;h=2)".to_owned()),
            Just("2. [T ](/news/2017/07/4/t.md) _Context: A, B_".to_owned()),
            Just("title = \"x\"".to_owned()),
            Just("date = 2017-02-30".to_owned()),
            Just("".to_owned()),
            ".{0,40}",
            "[\\[\\]()#_*<>&;:/.0-9a-z -]{0,30}",
        ]
    }

    proptest! {
        #[test]
        fn on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse(&bytes, &opts());
        }

        #[test]
        fn on_any_line_soup(lines in prop::collection::vec(line(), 0..25)) {
            let text = lines.join("\n");
            if let Ok(parsed) = parse(text.as_bytes(), &opts()) {
                prop_assert!(!parsed.event.title.is_empty());
                prop_assert!(parsed.event.key.starts_with("/news/"));
            }
        }
    }
}
