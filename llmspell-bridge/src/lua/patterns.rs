//! Lua 5.4 patterns with a step budget.
//!
//! Lua's own `string.find`, `string.match`, `string.gmatch` and
//! `string.gsub` are C functions: a backtracking pattern such as
//! `string.rep("a*", 40) .. "b"` on forty `a`s runs for longer than the
//! universe exists, and no instruction hook fires inside C code, so no time
//! limit could stop it. This module is a matcher with the semantics of the
//! Lua 5.4 manual (§6.4.1: character classes, sets, the `*`, `+`, `-`, `?`
//! quantifiers, anchors, captures and position captures, `%b`, `%f`,
//! back-references) that counts its steps: every [`CHECK_EVERY`] steps it
//! asks a [`Budget`] whether to go on, which stops it at the call's time
//! limit or after a maximum number of steps. The Lua functions built on it
//! are in `strlib.rs`.
//!
//! Subjects and patterns are byte strings, as in Lua; character classes use
//! the C locale (ASCII).

/// How many steps pass between two [`Budget`] checks.
pub(crate) const CHECK_EVERY: u64 = 1024;

/// The deepest nesting of pattern items matched recursively (Lua's
/// `MAXCCALLS`); deeper is "pattern too complex".
const MAX_DEPTH: usize = 200;

/// Lua's `LUA_MAXCAPTURES`.
pub(crate) const MAX_CAPTURES: usize = 32;

/// Why a match stopped without an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PatternError {
    /// The pattern is malformed; the message says how.
    Malformed(String),
    /// The step budget ran out.
    Budget(u64),
    /// The running call's time limit passed.
    TimeLimit,
}

/// Decides whether matching may go on.
pub(crate) trait Budget {
    /// Called every [`CHECK_EVERY`] steps with the steps taken so far by
    /// the current string function call.
    ///
    /// # Errors
    /// [`PatternError::Budget`] or [`PatternError::TimeLimit`] to stop.
    fn check(&mut self, steps: u64) -> Result<(), PatternError>;
}

/// A budget of `max` steps with a time check.
#[derive(Debug)]
pub(crate) struct Steps<F> {
    /// The most steps one call may take.
    pub(crate) max: u64,
    /// Whether the running call is past its time limit.
    pub(crate) timed_out: F,
}

impl<F: FnMut() -> bool> Budget for Steps<F> {
    fn check(&mut self, steps: u64) -> Result<(), PatternError> {
        if steps > self.max {
            return Err(PatternError::Budget(self.max));
        }
        if (self.timed_out)() {
            return Err(PatternError::TimeLimit);
        }
        Ok(())
    }
}

/// A capture: where it starts and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Capture {
    /// Not closed yet.
    Open(usize),
    /// The bytes `start..end` of the subject.
    Span(usize, usize),
    /// A position capture `()`: the 0-based offset.
    Position(usize),
}

fn malformed(message: &str) -> PatternError {
    PatternError::Malformed(message.to_owned())
}

/// One matching run over a subject, reusable for several start positions
/// (as `gsub` and `gmatch` do).
pub(crate) struct Matcher<'a, B: Budget> {
    src: &'a [u8],
    pat: &'a [u8],
    captures: Vec<Capture>,
    depth: usize,
    steps: u64,
    budget: &'a mut B,
}

impl<B: Budget> std::fmt::Debug for Matcher<'_, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("captures", &self.captures)
            .field("steps", &self.steps)
            .finish_non_exhaustive()
    }
}

impl<'a, B: Budget> Matcher<'a, B> {
    /// A matcher of `pat` (without a leading `^` anchor, which the caller
    /// handles) over `src`.
    pub(crate) fn new(src: &'a [u8], pat: &'a [u8], budget: &'a mut B) -> Self {
        Matcher {
            src,
            pat,
            captures: Vec::new(),
            depth: 0,
            steps: 0,
            budget,
        }
    }

    /// Matches the whole pattern at offset `s`: the end of the match, or
    /// `None`. The captures of a match are in [`captures`](Self::captures).
    pub(crate) fn match_at(&mut self, s: usize) -> Result<Option<usize>, PatternError> {
        self.captures.clear();
        self.depth = 0;
        self.do_match(s, 0)
    }

    /// The captures of the last match.
    pub(crate) fn captures(&self) -> &[Capture] {
        &self.captures
    }

    /// The steps taken so far (all matches of this matcher).
    #[cfg(test)]
    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }

    #[inline]
    fn tick(&mut self) -> Result<(), PatternError> {
        self.steps += 1;
        if self.steps.is_multiple_of(CHECK_EVERY) {
            self.budget.check(self.steps)?;
        }
        Ok(())
    }

    fn do_match(&mut self, s: usize, p: usize) -> Result<Option<usize>, PatternError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(malformed("pattern too complex"));
        }
        let out = self.match_loop(s, p);
        self.depth -= 1;
        out
    }

    /// The body of `do_match`: items that need no backtracking loop here
    /// instead of recursing.
    fn match_loop(&mut self, mut s: usize, mut p: usize) -> Result<Option<usize>, PatternError> {
        let pat = self.pat;
        loop {
            self.tick()?;
            let Some(&c) = pat.get(p) else {
                return Ok(Some(s));
            };
            match c {
                b'(' => {
                    return if pat.get(p + 1) == Some(&b')') {
                        self.start_capture(s, p + 2, Capture::Position(s))
                    } else {
                        self.start_capture(s, p + 1, Capture::Open(s))
                    };
                }
                b')' => return self.end_capture(s, p + 1),
                b'$' if p + 1 == pat.len() => {
                    return Ok((s == self.src.len()).then_some(s));
                }
                b'%' if pat.get(p + 1) == Some(&b'b') => match self.match_balance(s, p + 2)? {
                    Some(next) => {
                        s = next;
                        p += 4;
                    }
                    None => return Ok(None),
                },
                b'%' if pat.get(p + 1) == Some(&b'f') => {
                    p += 2;
                    if pat.get(p) != Some(&b'[') {
                        return Err(malformed("missing '[' after '%f' in pattern"));
                    }
                    let ep = self.class_end(p)?;
                    let prev = if s == 0 { 0 } else { self.src[s - 1] };
                    let cur = self.src.get(s).copied().unwrap_or(0);
                    if !self.bracket_class(prev, p, ep - 1) && self.bracket_class(cur, p, ep - 1) {
                        p = ep;
                    } else {
                        return Ok(None);
                    }
                }
                b'%' if pat.get(p + 1).is_some_and(u8::is_ascii_digit) => {
                    match self.match_back_reference(s, pat[p + 1])? {
                        Some(next) => {
                            s = next;
                            p += 2;
                        }
                        None => return Ok(None),
                    }
                }
                _ => {
                    let ep = self.class_end(p)?;
                    let single = self
                        .src
                        .get(s)
                        .is_some_and(|&b| self.single_match(b, p, ep));
                    match pat.get(ep) {
                        Some(b'?') => {
                            if single {
                                if let Some(end) = self.do_match(s + 1, ep + 1)? {
                                    return Ok(Some(end));
                                }
                            }
                            p = ep + 1;
                        }
                        Some(b'+') => {
                            return if single {
                                self.max_expand(s + 1, p, ep)
                            } else {
                                Ok(None)
                            };
                        }
                        Some(b'*') => return self.max_expand(s, p, ep),
                        Some(b'-') => return self.min_expand(s, p, ep),
                        _ => {
                            if !single {
                                return Ok(None);
                            }
                            s += 1;
                            p = ep;
                        }
                    }
                }
            }
        }
    }

    /// The end of the single-character class starting at `p`.
    fn class_end(&self, mut p: usize) -> Result<usize, PatternError> {
        let pat = self.pat;
        let c = pat[p];
        p += 1;
        match c {
            b'%' => {
                if p >= pat.len() {
                    return Err(malformed("malformed pattern (ends with '%')"));
                }
                Ok(p + 1)
            }
            b'[' => {
                if pat.get(p) == Some(&b'^') {
                    p += 1;
                }
                // The first character of a set is never its end (`[]]`).
                loop {
                    let Some(&c) = pat.get(p) else {
                        return Err(malformed("malformed pattern (missing ']')"));
                    };
                    p += 1;
                    if c == b'%' && p < pat.len() {
                        p += 1;
                    }
                    match pat.get(p) {
                        Some(b']') => return Ok(p + 1),
                        Some(_) => {}
                        None => return Err(malformed("malformed pattern (missing ']')")),
                    }
                }
            }
            _ => Ok(p),
        }
    }

    /// Whether byte `b` matches the class `pat[p..ep]`.
    fn single_match(&self, b: u8, p: usize, ep: usize) -> bool {
        match self.pat[p] {
            b'.' => true,
            b'%' => class_matches(b, self.pat[p + 1]),
            b'[' => self.bracket_class(b, p, ep - 1),
            literal => literal == b,
        }
    }

    /// Whether `b` is in the set `pat[p..=ec]` (`p` at `[`, `ec` at `]`).
    fn bracket_class(&self, b: u8, p: usize, ec: usize) -> bool {
        let pat = self.pat;
        let mut i = p + 1;
        let negated = pat.get(i) == Some(&b'^');
        if negated {
            i += 1;
        }
        while i < ec {
            if pat[i] == b'%' && i + 1 < ec {
                if class_matches(b, pat[i + 1]) {
                    return !negated;
                }
                i += 2;
            } else if pat.get(i + 1) == Some(&b'-') && i + 2 < ec {
                if pat[i] <= b && b <= pat[i + 2] {
                    return !negated;
                }
                i += 3;
            } else {
                if pat[i] == b {
                    return !negated;
                }
                i += 1;
            }
        }
        negated
    }

    fn max_expand(&mut self, s: usize, p: usize, ep: usize) -> Result<Option<usize>, PatternError> {
        let mut n = 0;
        while self
            .src
            .get(s + n)
            .is_some_and(|&b| self.single_match(b, p, ep))
        {
            self.tick()?;
            n += 1;
        }
        // Try the longest run first, then shorter ones.
        loop {
            if let Some(end) = self.do_match(s + n, ep + 1)? {
                return Ok(Some(end));
            }
            if n == 0 {
                return Ok(None);
            }
            n -= 1;
        }
    }

    fn min_expand(
        &mut self,
        mut s: usize,
        p: usize,
        ep: usize,
    ) -> Result<Option<usize>, PatternError> {
        loop {
            if let Some(end) = self.do_match(s, ep + 1)? {
                return Ok(Some(end));
            }
            if self
                .src
                .get(s)
                .is_some_and(|&b| self.single_match(b, p, ep))
            {
                s += 1;
            } else {
                return Ok(None);
            }
        }
    }

    fn start_capture(
        &mut self,
        s: usize,
        p: usize,
        capture: Capture,
    ) -> Result<Option<usize>, PatternError> {
        if self.captures.len() >= MAX_CAPTURES {
            return Err(malformed("too many captures"));
        }
        self.captures.push(capture);
        let out = self.do_match(s, p)?;
        if out.is_none() {
            self.captures.pop();
        }
        Ok(out)
    }

    fn end_capture(&mut self, s: usize, p: usize) -> Result<Option<usize>, PatternError> {
        let Some(l) = self
            .captures
            .iter()
            .rposition(|c| matches!(c, Capture::Open(_)))
        else {
            return Err(malformed("invalid pattern capture"));
        };
        let Capture::Open(start) = self.captures[l] else {
            return Err(malformed("invalid pattern capture"));
        };
        self.captures[l] = Capture::Span(start, s);
        let out = self.do_match(s, p)?;
        if out.is_none() {
            self.captures[l] = Capture::Open(start);
        }
        Ok(out)
    }

    fn match_balance(&mut self, s: usize, p: usize) -> Result<Option<usize>, PatternError> {
        let (Some(&open), Some(&close)) = (self.pat.get(p), self.pat.get(p + 1)) else {
            return Err(malformed("malformed pattern (missing arguments to '%b')"));
        };
        if self.src.get(s) != Some(&open) {
            return Ok(None);
        }
        let mut depth = 1usize;
        let mut i = s + 1;
        while let Some(&b) = self.src.get(i) {
            self.tick()?;
            if b == close {
                depth -= 1;
                if depth == 0 {
                    return Ok(Some(i + 1));
                }
            } else if b == open {
                depth += 1;
            }
            i += 1;
        }
        Ok(None)
    }

    fn match_back_reference(&mut self, s: usize, digit: u8) -> Result<Option<usize>, PatternError> {
        let index = usize::from(digit - b'0');
        let capture = index
            .checked_sub(1)
            .and_then(|i| self.captures.get(i))
            .copied();
        match capture {
            Some(Capture::Span(a, b)) => {
                let len = b - a;
                Ok(
                    (self.src.len() - s >= len && self.src[a..b] == self.src[s..s + len])
                        .then_some(s + len),
                )
            }
            Some(Capture::Position(_)) => Ok(None),
            _ => Err(PatternError::Malformed(format!(
                "invalid capture index %{index} in pattern"
            ))),
        }
    }
}

/// Whether `b` matches the class letter `class` (`%a`, `%D`, ...); any
/// other character stands for itself.
fn class_matches(b: u8, class: u8) -> bool {
    let m = match class.to_ascii_lowercase() {
        b'a' => b.is_ascii_alphabetic(),
        b'c' => b.is_ascii_control(),
        b'd' => b.is_ascii_digit(),
        b'g' => b.is_ascii_graphic(),
        b'l' => b.is_ascii_lowercase(),
        b'p' => b.is_ascii_punctuation(),
        // C's isspace: also the vertical tab, which is_ascii_whitespace
        // leaves out.
        b's' => matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'),
        b'u' => b.is_ascii_uppercase(),
        b'w' => b.is_ascii_alphanumeric(),
        b'x' => b.is_ascii_hexdigit(),
        // Deprecated in Lua 5.2 but still understood by 5.4: the zero byte.
        b'z' => b == 0,
        _ => return class == b,
    };
    if class.is_ascii_uppercase() {
        !m
    } else {
        m
    }
}

/// Whether `pat` has no magic characters (a plain search will do).
pub(crate) fn is_plain(pat: &[u8]) -> bool {
    !pat.iter().any(|b| b"^$*+?.([%-".contains(b))
}

/// The first offset of `needle` in `hay` at or after `from`.
pub(crate) fn find_plain(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() {
        return (from <= hay.len()).then_some(from);
    }
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Unlimited;
    impl Budget for Unlimited {
        fn check(&mut self, _steps: u64) -> Result<(), PatternError> {
            Ok(())
        }
    }

    /// The first match of `pat` in `src` as (start, end, captures as text).
    fn find(src: &str, pat: &str) -> Result<Option<(usize, usize, Vec<String>)>, PatternError> {
        let (anchor, pat) = match pat.strip_prefix('^') {
            Some(rest) => (true, rest),
            None => (false, pat),
        };
        let mut budget = Unlimited;
        let mut m = Matcher::new(src.as_bytes(), pat.as_bytes(), &mut budget);
        for s in 0..=src.len() {
            if let Some(e) = m.match_at(s)? {
                let caps = m
                    .captures()
                    .iter()
                    .map(|c| match *c {
                        Capture::Span(a, b) => src[a..b].to_owned(),
                        Capture::Position(p) => format!("@{}", p + 1),
                        Capture::Open(_) => "<open>".to_owned(),
                    })
                    .collect();
                return Ok(Some((s, e, caps)));
            }
            if anchor {
                break;
            }
        }
        Ok(None)
    }

    #[test]
    fn matches_as_lua_does() {
        // (subject, pattern, expected start..end and captures); the
        // expectations are Lua 5.4's answers.
        let check = |src: &str, pat: &str, want: Option<(usize, usize, &[&str])>| {
            let got = find(src, pat).unwrap();
            let want = want.map(|(a, b, c)| (a, b, c.iter().map(|s| (*s).to_owned()).collect()));
            assert_eq!(got, want, "{src:?} ~ {pat:?}");
        };
        check("hello world", "o w", Some((4, 7, &[])));
        check("hello world", "^hello", Some((0, 5, &[])));
        check("say hello", "^hello", None);
        check("hello", "l+", Some((2, 4, &[])));
        check("hello", "l*", Some((0, 0, &[])));
        check("hello", "x?h", Some((0, 1, &[])));
        check("<a><b>", "<.->", Some((0, 3, &[])));
        check("<a><b>", "<.*>", Some((0, 6, &[])));
        check(
            "key = value",
            "(%w+)%s*=%s*(%w+)",
            Some((0, 11, &["key", "value"])),
        );
        check("abc", "()b()", Some((1, 2, &["@2", "@3"])));
        check("f(a(b)c) d", "%b()", Some((1, 8, &[])));
        check("THE (quick) fox", "%f[%a]%a+", Some((0, 3, &[])));
        check("hello hello", "(h%a+) %1", Some((0, 11, &["hello"])));
        check("x = 'it''s'", "(['\"])(.-)%1", Some((4, 8, &["'", "it"])));
        check("a]b", "[]]", Some((1, 2, &[])));
        check("a-b", "[%-]", Some((1, 2, &[])));
        check("a1B2", "[^%a]", Some((1, 2, &[])));
        check("xyz", "[a-c]", None);
        check("end", "d$", Some((2, 3, &[])));
        check("a$b", "$b", Some((1, 3, &[])));
        check("tab\there", "%s", Some((3, 4, &[])));
        check("v\u{b}t", "%s", Some((1, 2, &[])));
        check("3.14", "%d+%.%d+", Some((0, 4, &[])));
        check("", "", Some((0, 0, &[])));
        check("ab", "(a)(b)", Some((0, 2, &["a", "b"])));
        check("AbC", "%u%l%u", Some((0, 3, &[])));
        check("a.b", "%.", Some((1, 2, &[])));
    }

    #[test]
    fn malformed_patterns_are_errors_naming_the_problem() {
        let err = |pat: &str| match find("abc", pat) {
            Err(PatternError::Malformed(m)) => m,
            other => panic!("{pat:?}: {other:?}"),
        };
        assert_eq!(err("%"), "malformed pattern (ends with '%')");
        assert_eq!(err("[a"), "malformed pattern (missing ']')");
        // An unclosed capture matches; reading it is the error (strlib).
        assert_eq!(
            find("abc", "(a").unwrap(),
            Some((0, 1, vec!["<open>".to_owned()]))
        );
        assert_eq!(err("a)"), "invalid pattern capture");
        assert_eq!(err("%1"), "invalid capture index %1 in pattern");
        assert_eq!(err("%f"), "missing '[' after '%f' in pattern");
        assert_eq!(err("%b"), "malformed pattern (missing arguments to '%b')");
        assert_eq!(err(&"()".repeat(33)), "too many captures");
    }

    /// Counts steps and stops after `max`.
    struct Capped(u64);
    impl Budget for Capped {
        fn check(&mut self, steps: u64) -> Result<(), PatternError> {
            if steps > self.0 {
                Err(PatternError::Budget(self.0))
            } else {
                Ok(())
            }
        }
    }

    #[test]
    fn a_backtracking_pattern_stops_at_its_budget() {
        // Issue 12, item 2: this runs "forever" in Lua's C matcher.
        let src = "a".repeat(40);
        let pat = "a*".repeat(40) + "b";
        let mut budget = Capped(1_000_000);
        let mut m = Matcher::new(src.as_bytes(), pat.as_bytes(), &mut budget);
        assert_eq!(m.match_at(0), Err(PatternError::Budget(1_000_000)));
        assert!(m.steps() > 1_000_000 && m.steps() <= 1_000_000 + CHECK_EVERY);
    }

    #[test]
    fn plain_search() {
        assert!(is_plain(b"abc def"));
        assert!(!is_plain(b"a.c"));
        assert_eq!(find_plain(b"hello", b"ll", 0), Some(2));
        assert_eq!(find_plain(b"hello", b"ll", 3), None);
        assert_eq!(find_plain(b"hello", b"", 5), Some(5));
        assert_eq!(find_plain(b"hello", b"", 6), None);
    }
}
