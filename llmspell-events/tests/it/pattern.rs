use llmspell_events::EventPattern;
use proptest::prelude::*;

/// A deliberately naive reference matcher over a pre-parsed pattern.
#[derive(Debug, Clone)]
enum Tok {
    Lit(char),
    One,
    Star,
    Class(bool, Vec<(char, char)>),
}

fn reference(p: &[Tok], t: &[char]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some((Tok::Star, rest)) => (0..=t.len()).any(|i| reference(rest, &t[i..])),
        Some((tok, rest)) => match t.split_first() {
            None => false,
            Some((c, t_rest)) => {
                let ok = match tok {
                    Tok::Lit(l) => l == c,
                    Tok::One => true,
                    Tok::Class(neg, ranges) => {
                        ranges.iter().any(|(lo, hi)| lo <= c && c <= hi) != *neg
                    }
                    Tok::Star => unreachable!(),
                };
                ok && reference(rest, t_rest)
            }
        },
    }
}

fn render(p: &[Tok]) -> String {
    let mut s = String::new();
    for t in p {
        match t {
            Tok::Lit(c) if "*?[\\".contains(*c) => {
                s.push('\\');
                s.push(*c);
            }
            Tok::Lit(c) => s.push(*c),
            Tok::One => s.push('?'),
            Tok::Star => s.push('*'),
            Tok::Class(neg, ranges) => {
                s.push('[');
                if *neg {
                    s.push('^');
                }
                for (lo, hi) in ranges {
                    s.push(*lo);
                    if lo != hi {
                        s.push('-');
                        s.push(*hi);
                    }
                }
                s.push(']');
            }
        }
    }
    s
}

fn alphabet() -> impl Strategy<Value = char> {
    prop::sample::select(vec!['a', 'b', 'c', '.', '*', '?', 'é'])
}

fn arb_tok() -> impl Strategy<Value = Tok> {
    let class_char = prop::sample::select(vec!['a', 'b', 'c', '.', 'x']);
    prop_oneof![
        4 => alphabet().prop_map(Tok::Lit),
        1 => Just(Tok::One),
        2 => Just(Tok::Star),
        1 => (any::<bool>(), prop::collection::vec((class_char.clone(), class_char), 1..3))
            .prop_map(|(neg, rs)| Tok::Class(
                neg,
                rs.into_iter().map(|(a, b)| if a <= b { (a, b) } else { (b, a) }).collect()
            )),
    ]
}

fn check(pattern: &str, text: &str, expect: bool) {
    let p = EventPattern::new(pattern).unwrap();
    assert_eq!(p.matches(text), expect, "pattern {pattern:?} on {text:?}");
}

#[test]
fn table() {
    for (pattern, text, expect) in [
        ("user.login", "user.login", true),
        ("user.login", "user.logout", false),
        ("user.*", "user.login", true),
        ("user.*", "users.login", false),
        ("*.error", "tool.error", true),
        ("*.error", "tool.error.x", false),
        ("agent.*.failed", "agent.a.failed", true),
        ("agent.*.failed", "agent.a.b.failed", true),
        ("agent.*.failed", "agent.failed", false),
        ("h?llo", "hello", true),
        ("h?llo", "hllo", false),
        ("h[ae]llo", "hallo", true),
        ("h[ae]llo", "hillo", false),
        ("h[^e]llo", "hallo", true),
        ("h[^e]llo", "hello", false),
        ("h[a-b]llo", "hbllo", true),
        ("h\\*llo", "h*llo", true),
        ("h\\*llo", "hello", false),
        ("*", "", true),
        ("**", "x", true),
        ("a*", "a", true),
    ] {
        check(pattern, text, expect);
    }
}

#[test]
fn invalid_patterns_say_what_is_wrong() {
    for (bad, needle) in [
        ("", "empty"),
        ("a[bc", "not closed"),
        ("[z-a]", "reversed"),
        ("a\\", "lone"),
    ] {
        let err = EventPattern::new(bad).unwrap_err().to_string();
        assert!(err.contains(needle), "{bad:?}: {err}");
    }
}

proptest! {
    #[test]
    fn agrees_with_the_reference_matcher(
        toks in prop::collection::vec(arb_tok(), 1..8),
        text in prop::collection::vec(alphabet(), 0..10),
    ) {
        let source = render(&toks);
        let pattern = EventPattern::new(&source).unwrap();
        let text_s: String = text.iter().collect();
        prop_assert_eq!(
            pattern.matches(&text_s),
            reference(&toks, &text),
            "pattern {:?} on {:?}", source, text_s
        );
        // Every match starts with the literal prefix used for indexing.
        if pattern.matches(&text_s) {
            prop_assert!(text_s.starts_with(pattern.literal_prefix()));
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(pattern in ".{0,24}", text in ".{0,24}") {
        if let Ok(p) = EventPattern::new(&pattern) {
            let _ = p.matches(&text);
            let _ = p.kind();
        }
    }

    #[test]
    fn arbitrary_glob_soup_never_panics(
        pattern in "[a\\\\*?\\[\\]^!\\-é]{0,16}",
        text in "[a\\\\*?\\[\\]^!\\-é]{0,16}",
    ) {
        if let Ok(p) = EventPattern::new(&pattern) {
            let _ = p.matches(&text);
        }
    }
}
