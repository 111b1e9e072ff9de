use super::*;
use crate::diag::Severity;

const SEED: &[u8] = include_bytes!("../../tests/fixtures/seed.txt");

fn opts() -> ParseOptions {
    ParseOptions::new(1 << 20, crate::links::example())
}

fn parse_str(s: &str) -> Result<Parsed, Diagnostic> {
    parse("event.md", s.as_bytes(), &opts())
}

fn error_of(s: &str) -> Diagnostic {
    parse_str(s).expect_err("should not parse")
}

#[test]
fn seed_parses_to_exact_values() {
    let Parsed { event, warnings } = parse("000_6b75227719e54f27.txt", SEED, &opts()).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(event.date, NaiveDate::from_ymd_opt(2017, 11, 2).unwrap());
    assert_eq!(
        &*event.parsed_body().title,
        "U.S. President Donald Trump's main social media account is suspended for 11 minutes. Twitter blames the incident on an employee and says it is \"taking steps to prevent this from happening again.\""
    );
    assert_eq!(
        &*event.key,
        "/news/2017/11/2/u-s-president-donald-trump-s-main-social-media-account-is-suspended-for-11-minutes-twitter-blames-the-incident-on-an-employee-and-says-it.md"
    );
    assert_eq!(
        &*event.parsed_body().summary_html,
        "<p>Company initially blamed human error for @realdonaldtrump account’s 11-minute outage but then revealed it was sabotaged by rogue worker</p>\n"
    );
    assert_eq!(
        event.parsed_body().sources.as_ref(),
        [Source {
            name: "The Guardian".into(),
            url: "https://www.theguardian.com/us-news/2017/nov/02/trump-twitter-account-offline"
                .into()
        }]
    );
    assert_eq!(
        event.parsed_body().image.as_deref(),
        Some("https://i.guim.co.uk/img/media/cec7302328131f1a9a5554c96eb5d28e98ddb280/78_182_4272_2563/master/4272.jpg?w=1200&h=630&q=55&auto=format&usm=12&fit=crop&crop=faces%2Centropy&bm=normal&ba=bottom%2Cleft&blend64=aHR0cHM6Ly91cGxvYWRzLmd1aW0uY28udWsvMjAxNi8wNS8yNS9vdmVybGF5LWxvZ28tMTIwMC05MF9vcHQucG5n&s=c10add9a64c2477cfdd7d50ec9571ac3")
    );
    let contexts: Vec<&str> = event.contexts.iter().map(|c| &**c).collect();
    assert_eq!(
        contexts,
        ["Donald Trump", "Donald Trump on social media", "Twitter"]
    );
    assert_eq!(event.parsed_body().related.len(), 5);
    assert_eq!(
        event.parsed_body().related[0].key.as_deref(),
        Some("/news/2017/7/4/cnn-is-accused-of-threatening-to-reveal-the-personal-identity-of-a-reddit-user-who-made-a-gif-depicting-united-states-president-donald-trump.md")
    );
    assert_eq!(
        &*event.parsed_body().related[3].title,
        "U.S. President Donald Trump visits Japan amidst the 2017 North Korea crisis."
    );
    assert_eq!(
        crate::links::example().page_url(event.parsed_body().related[3].key.as_ref().unwrap()),
        "https://example.org/news/2017/11/6/u-s-president-donald-trump-visits-japan-amidst-the-2017-north-korea-crisis.html"
    );
    assert_eq!(
        event.parsed_body().related[3].url,
        None,
        "derived from the key, not stored"
    );
}

#[test]
fn crlf_and_zero_padded_dates_parse_the_same() {
    let crlf: Vec<u8> = String::from_utf8_lossy(SEED)
        .replace('\n', "\r\n")
        .into_bytes();
    let a = parse("000_6b75227719e54f27.txt", SEED, &opts())
        .unwrap()
        .event;
    let b = parse("000_6b75227719e54f27.txt", &crlf, &opts())
        .unwrap()
        .event;
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
    let e = parse("x.md", &[b'x'; 101], &opts).unwrap_err();
    assert!(e.message.contains("over the limit of 100"), "{}", e.message);
}

#[test]
fn dirty_bytes_are_cleaned() {
    let mut input =
        b"### [2017-11-2](/x)\n# Bad\x00 \x1b[31mbytes\xff here\n\nText\x0c with \xe2\x80 cut\n"
            .to_vec();
    input.extend_from_slice("### Sources:\n1. [A](https://a.example/?x=1&amp;y=2)\n".as_bytes());
    let Parsed { event, warnings } = parse("x.md", &input, &opts()).unwrap();
    assert_eq!(&*event.parsed_body().title, "Bad [31mbytes\u{fffd} here");
    assert_eq!(
        &*event.parsed_body().summary_html,
        "<p>Text with \u{fffd} cut</p>\n"
    );
    assert_eq!(
        &*event.parsed_body().sources[0].url,
        "https://a.example/?x=1&y=2"
    );
    assert_eq!(warnings.len(), 1);
    assert_eq!((warnings[0].line, warnings[0].col), (2, 18));
}

#[test]
fn html_in_headlines_is_stripped_and_script_never_survives() {
    let e = parse_str("### [2017-11-2](/x)\n# <b>Bold</b> &amp; <script>x</script>move\n\n<script>alert(1)</script>\n<img src=x onerror=alert(1)>\n")
        .unwrap()
        .event;
    assert_eq!(&*e.parsed_body().title, "Bold & xmove");
    assert!(
        !e.parsed_body().summary_html.contains("script")
            && !e.parsed_body().summary_html.contains("onerror"),
        "{}",
        e.parsed_body().summary_html
    );
}

#[test]
fn front_matter_wins() {
    let input = "+++\ntitle = \"Front title\"\ndate = 2020-01-05\ncontexts = [\"Zürich\", \"C++\"]\nid = \"urn:uuid:1\"\n+++\n### [2017-11-2](/x)\n# Body title\n\nSummary\n";
    let e = parse_str(input).unwrap().event;
    assert_eq!(&*e.parsed_body().title, "Front title");
    assert_eq!(e.date, NaiveDate::from_ymd_opt(2020, 1, 5).unwrap());
    assert_eq!(
        e.contexts.iter().map(|c| &**c).collect::<Vec<_>>(),
        ["C++", "Zürich"]
    );
    assert_eq!(e.id(), Some("urn:uuid:1"));
    assert_eq!(&*e.key, "/news/2020/1/5/front-title.md");
    let bare = parse_str("---\ntitle: Only front\ndate: \"2021-03-04\"\n---\nSome *text*.\n")
        .unwrap()
        .event;
    assert_eq!(&*bare.parsed_body().title, "Only front");
    assert_eq!(
        &*bare.parsed_body().summary_html,
        "<p>Some <em>text</em>.</p>\n"
    );
}

#[test]
fn events_without_related_have_no_contexts() {
    let e = parse_str(
        "### [2017-11-2](/x)\n# Lonely\n\nText\n\n### Sources:\n\n1. [A](https://a.example)\n",
    )
    .unwrap()
    .event;
    assert!(e.contexts.is_empty() && e.parsed_body().related.is_empty());
}

#[test]
fn odd_list_lines_warn_and_go_on() {
    let input = "### [2017-11-2](/x)\n# T\n\n### Sources:\n\nnot a list\n1. [Wiki](https://en.wikipedia.org/wiki/Foo_(bar))\n1. [Bad](javascript:alert(1))\n### Elsewhere:\n- stuff\n";
    let Parsed { event, warnings } = parse_str(input).unwrap();
    assert_eq!(
        &*event.parsed_body().sources[0].url,
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
            let _ = parse("news/2017/11/2/x.md", &bytes, &opts());
        }

        #[test]
        fn on_any_line_soup(lines in prop::collection::vec(line(), 0..25)) {
            let text = lines.join("\n");
            if let Ok(parsed) = parse("x.md", text.as_bytes(), &opts()) {
                prop_assert!(!parsed.event.parsed_body().title.is_empty());
                prop_assert!(parsed.event.key.starts_with("/news/"));
            }
        }
    }
}

/// The variants of the real archive (`tests/fixtures/real-archive`): each parses,
/// quietly where the archive is regular.
mod archive_variants {
    use super::*;

    const EURO: &str = "\nFormats: [HTML](/news/1999/01/1/the-euro.html)  [JSON](/news/1999/01/1/the-euro.json)  [XML](/news/1999/01/1/the-euro.xml)  \n\n### [1999-01-1](/news/1999/01/1/index.md)\n\n##### Euro\n#  The euro currency is introduced.\n\n\n\n\n### Related:\n\n1. [Pope Francis donates 100,000 euros. ](/news/2017/03/10/pope-francis.md) _Context: euro_\n";

    #[test]
    fn identity_comes_from_the_path_in_the_archive_layout() {
        let Parsed { event, warnings } =
            parse("news/1999/01/1/the-euro.md", EURO.as_bytes(), &opts()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            &*event.parsed_body().title,
            "The euro currency is introduced."
        );
        assert_eq!(event.path(), "/news/1999/01/1/the-euro.md");
        assert_eq!(event.custom_path(), None, "the key and its padding say it");
        assert_eq!(&*event.key, "/news/1999/1/1/the-euro.md");
        assert_eq!(event.date, NaiveDate::from_ymd_opt(1999, 1, 1).unwrap());
        assert_eq!(&*event.parsed_body().summary_html, "");
        assert_eq!(&*event.contexts[0], "euro");
        let related = &event.parsed_body().related[0];
        assert_eq!(
            related.key.as_deref(),
            Some("/news/2017/3/10/pope-francis.md")
        );
        assert_eq!(
            crate::model::padded_path(related.key.as_ref().unwrap(), related.pad),
            "/news/2017/03/10/pope-francis.md"
        );
        // Outside the layout, the path derives from the day and headline.
        let elsewhere = parse("inbox/x.md", EURO.as_bytes(), &opts()).unwrap().event;
        assert_eq!(
            elsewhere.path(),
            "/news/1999/1/1/the-euro-currency-is-introduced.md"
        );
        assert_eq!(elsewhere.path(), &*elsewhere.key);
        let nested = parse(
            "archive/news/1999/01/1/the-euro.md",
            EURO.as_bytes(),
            &opts(),
        )
        .unwrap()
        .event;
        assert_eq!(nested.path(), "/archive/news/1999/01/1/the-euro.md");
    }

    #[test]
    fn a_formats_section_and_source_heading_are_the_archive_s() {
        let input = "\n### Formats:\n\n* [HTML](/news/2017/11/10/h.html)\n* [JSON](/news/2017/11/10/h.json)\n### [2017-11-10](/news/2017/11/10/index.md)\n\n# Hezbollah declares\n\nShia group&#39;s head accuses ''Saudi Arabia''.\n\n### Source:\n\n1. [Al-Jazeera](http://www.aljazeera.com/x.html)\n1. [Cover Image](https://img.example/a.jpg)\n";
        let Parsed { event, warnings } =
            parse("news/2017/11/10/h.md", input.as_bytes(), &opts()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            &*event.parsed_body().summary_html,
            "<p>Shia group's head accuses <em>Saudi Arabia</em>.</p>\n"
        );
        assert_eq!(&*event.parsed_body().sources[0].name, "Al-Jazeera");
        assert_eq!(
            event.parsed_body().image.as_deref(),
            Some("https://img.example/a.jpg")
        );
    }

    #[test]
    fn changes_list_the_versions_with_their_times() {
        let input = "### [2017-11-1](/news/2017/11/1/index.md)\n\n# A gunman opens fire in a Walmart\n\n### Changes:\n\n1. [A gunman opens fire in a Wal-Mart ](/news/2017/11/1/a-gunman-wal-mart.md) _2017-11-02 20:30:05 (First version)_\n2. [Update ](/news/2017/11/01/a-gunman-update.md) _2017-11-03 08:00:00 (Update)_\n1. [A gunman opens fire in a Walmart ](/news/2017/11/1/a-gunman-walmart.md) _(Current version)_\n1. [Outside](https://elsewhere.example/x) _(Update)_\n";
        let Parsed { event, warnings } = parse(
            "news/2017/11/1/a-gunman-walmart.md",
            input.as_bytes(),
            &opts(),
        )
        .unwrap();
        assert_eq!(warnings.len(), 1, "the link outside the tree: {warnings:?}");
        assert_eq!(warnings[0].line, 10);
        let v: Vec<(&str, &str, Option<i64>, bool)> = event
            .versions()
            .iter()
            .map(|v| (&*v.key, &*v.path, v.time, v.first))
            .collect();
        assert_eq!(
            v,
            [
                (
                    "/news/2017/11/1/a-gunman-wal-mart.md",
                    "/news/2017/11/1/a-gunman-wal-mart.md",
                    Some(1509654605),
                    true
                ),
                (
                    "/news/2017/11/1/a-gunman-update.md",
                    "/news/2017/11/01/a-gunman-update.md",
                    Some(1509696000),
                    false
                ),
                (
                    "/news/2017/11/1/a-gunman-walmart.md",
                    "/news/2017/11/1/a-gunman-walmart.md",
                    None,
                    false
                ),
            ]
        );
    }

    #[test]
    fn what_the_archive_does_not_say_is_tolerated() {
        // No day heading: the folder gives the day, with a warning.
        let Parsed { event, warnings } =
            parse("news/2005/07/7/x.md", b"# Just a headline\n", &opts()).unwrap();
        assert_eq!(event.date, NaiveDate::from_ymd_opt(2005, 7, 7).unwrap());
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].message.contains("folder"), "{warnings:?}");
        // Junk before the day heading is skipped with a warning that names it.
        let Parsed { event, warnings } = parse(
            "x.md",
            b"garbage line\n### [2017-11-2](/x)\n#Tight headline {{cite web|x}}\n",
            &opts(),
        )
        .unwrap();
        assert_eq!(&*event.parsed_body().title, "Tight headline");
        assert_eq!((warnings.len(), warnings[0].line), (1, 1));
        // An unknown section is kept out of the item.
        let Parsed { event, warnings } = parse(
            "x.md",
            b"### [2017-11-2](/x)\n# T\n\nText\n\n### Notes:\n\n- secret\n",
            &opts(),
        )
        .unwrap();
        assert!(!event.parsed_body().summary_html.contains("secret"));
        assert!(
            warnings[0].message.contains("unknown section"),
            "{warnings:?}"
        );
    }
}
