//! Slugs: the headline slug of PRODUCT.md (which must match the Related links other
//! events already carry), and the base of a context slug, which must be a safe file
//! and URL name whatever the context says. Uniqueness among contexts is decided by
//! the index, which sees them all (see `index::assign_slugs`).

/// Longest headline slug, by the archive's rule.
pub const HEADLINE_SLUG_MAX: usize = 140;
/// Longest context slug base, in bytes, before a disambiguating suffix.
pub const CONTEXT_SLUG_MAX: usize = 80;

/// The archive's headline slug: the headline cut to 140 characters (the cut comes
/// first, as the archive's own links show), lower-cased, each run of characters
/// outside `[a-z0-9]` turned into one `-`, no `-` at either end.
pub fn headline_slug(headline: &str) -> String {
    let cut = headline.trim_start().chars().take(HEADLINE_SLUG_MAX);
    trim_dashes(dash_runs(cut.flat_map(char::to_lowercase)))
}

/// The base of a context slug: transliterated to ASCII (`Zürich` -> `zurich`,
/// `東京` -> `dong-jing`), then the headline rule, cut at a word boundary.
/// Empty or reserved results come back as `None`: the caller then derives the
/// slug from a hash of the name alone.
pub fn context_slug_base(name: &str) -> Option<String> {
    let ascii = deunicode::deunicode_with_tofu(name, "-");
    let mut slug = trim_dashes(dash_runs(ascii.chars().map(|c| c.to_ascii_lowercase())));
    if slug.len() > CONTEXT_SLUG_MAX {
        let cut = slug[..=CONTEXT_SLUG_MAX]
            .rfind('-')
            .unwrap_or(CONTEXT_SLUG_MAX);
        slug.truncate(cut);
        slug = trim_dashes(slug);
    }
    (!slug.is_empty() && !is_reserved(&slug)).then_some(slug)
}

/// Names Windows refuses as file names, whatever the extension.
fn is_reserved(slug: &str) -> bool {
    const RESERVED: [&str; 4] = ["con", "prn", "aux", "nul"];
    let digit_suffixed = |p: &str| {
        slug.strip_prefix(p)
            .is_some_and(|d| d.len() == 1 && d.as_bytes()[0].is_ascii_digit())
    };
    RESERVED.contains(&slug) || digit_suffixed("com") || digit_suffixed("lpt")
}

fn dash_runs(chars: impl Iterator<Item = char>) -> String {
    let mut out = String::new();
    for c in chars {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out
}

fn trim_dashes(s: String) -> String {
    let t = s.trim_matches('-');
    if t.len() == s.len() {
        s
    } else {
        t.to_owned()
    }
}

/// FNV-1a, 64 bit: a hash that is the same on every platform and release,
/// unlike `std`'s `DefaultHasher`, so slugs and ids derived from it never move.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A short, stable, URL-safe tag of a name: 8 hex digits of its hash.
pub fn short_hash(name: &str) -> String {
    format!("{:08x}", stable_hash(name.as_bytes()) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headline_slugs_match_the_seed_related_links() {
        let cases = [
            (
                "U.S. President Donald Trump tweets that transgender Americans will not be allowed to serve \"in any capacity\" in the United States Armed Forces. ",
                "u-s-president-donald-trump-tweets-that-transgender-americans-will-not-be-allowed-to-serve-in-any-capacity-in-the-united-states-armed-forc",
            ),
            (
                "CNN is accused of threatening to reveal the personal identity of a Reddit user who made a GIF depicting United States President Donald Trump tackling a man to the ground, with CNN's logo superimposed on the man's face. The GIF was modified and posted on Trump's Twitter feed. ",
                "cnn-is-accused-of-threatening-to-reveal-the-personal-identity-of-a-reddit-user-who-made-a-gif-depicting-united-states-president-donald-trump",
            ),
            (
                "U.S. President Donald Trump visits Japan amidst the 2017 North Korea crisis. ",
                "u-s-president-donald-trump-visits-japan-amidst-the-2017-north-korea-crisis",
            ),
            ("--Hello,  World--", "hello-world"),
            ("Zürich", "z-rich"),
            ("", ""),
        ];
        for (headline, slug) in cases {
            assert_eq!(headline_slug(headline), slug, "{headline}");
        }
    }

    #[test]
    fn context_slug_bases_are_safe() {
        let cases = [
            ("Donald Trump", Some("donald-trump")),
            ("../../etc", Some("etc")),
            ("..", None),
            ("C++", Some("c")),
            ("Zürich", Some("zurich")),
            ("Café", Some("cafe")),
            ("CAFE", Some("cafe")),
            ("東京", Some("dong-jing")),
            ("القاهرة", Some("lqhr")),
            ("🎉", Some("tada")),
            ("CON", None),
            ("com1", None),
            ("", None),
        ];
        for (name, slug) in cases {
            assert_eq!(context_slug_base(name).as_deref(), slug, "{name}");
        }
    }

    #[test]
    fn long_context_slugs_are_cut_at_a_word() {
        let name = "word ".repeat(60);
        let slug = context_slug_base(&name).unwrap();
        assert!(slug.len() <= CONTEXT_SLUG_MAX, "{}", slug.len());
        assert!(slug.ends_with("word") && !slug.ends_with('-'));
        let blob = "x".repeat(300);
        assert_eq!(context_slug_base(&blob).unwrap().len(), CONTEXT_SLUG_MAX);
    }

    #[test]
    fn stable_hash_is_fnv1a() {
        assert_eq!(stable_hash(b""), 0xcbf29ce484222325);
        assert_eq!(stable_hash(b"a"), 0xaf63dc4c8601ec8c);
    }

    proptest::proptest! {
        #[test]
        fn any_name_gives_a_safe_slug_or_none(name in "\\PC{0,200}") {
            if let Some(slug) = context_slug_base(&name) {
                proptest::prop_assert!(slug.len() <= CONTEXT_SLUG_MAX, "{}", slug);
                proptest::prop_assert!(slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{}", slug);
                proptest::prop_assert!(!slug.starts_with('-') && !slug.ends_with('-') && !slug.contains("--"), "{}", slug);
            }
            let h = headline_slug(&name);
            proptest::prop_assert!(h.len() <= HEADLINE_SLUG_MAX && !h.ends_with('-'));
        }
    }
}
