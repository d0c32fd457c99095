//! Bounds on a JSONPath query, checked before it is parsed and run.
//!
//! Two attacks are bounded here:
//!
//! - **Parsing.** `serde_json_path`'s parser recurses on every `[`/`(` (5,000
//!   nested parentheses overflow the stack) and backtracks on nested
//!   filters (time ×2.5 per level: `$[?@[?@ ... ]]` 20 deep takes seconds).
//!   [`check_shape`] refuses a query longer than [`MAX_QUERY_BYTES`], nested
//!   deeper than [`MAX_NESTING`] brackets and parentheses, or with filters
//!   nested deeper than [`MAX_FILTER_NESTING`], by scanning its text (string
//!   literals skipped) before the parser sees it.
//! - **Evaluation.** RFC 9535 node lists keep duplicates, so a query's
//!   result can grow much faster than the document: each bracket with `k`
//!   selectors multiplies it by `k` (`$[0,0,0][0,0,0]...`), a descendant
//!   segment applied to nodes that contain each other reaches a node once
//!   per ancestor, and a filter runs its sub-queries once per candidate.
//!   [`cost`] computes an upper bound of the evaluation's work (nodes
//!   visited and produced, the location of each produced node) from the
//!   query and two facts of the document, its node count `N` and depth `D`,
//!   and the tool refuses a query over [`MAX_COST`]. (Copying the result out
//!   is the tool's own loop, bounded as it runs.)
//!
//! A query starting from a node whose subtree has `S` nodes is bounded by
//! linear functions of `S` (a constant part for what name and index
//! selectors reach, a part proportional to `S` for what wildcards, slices,
//! filters and descendant segments reach): its work `W`, the length `F` of
//! its node list, `M` the most times one node can be in the list (1 at the
//! start) and `O` the most listed subtrees one node can be inside (1 while
//! no listed node contains another, else `D`). Per segment with `n` name or
//! index selectors and `w` wide ones (`*`, slices, filters):
//!
//! | segment | `W` grows by | `F` after | `M`, `O` after |
//! |---|---|---|---|
//! | child | `n·F + w·M·S` + filters | `n·F + w·M·S` | `M·(n+w)`, `O` |
//! | descendant | `V + n·V + w·V` + filters, `V = M·O·S` | `(n+w)·V` | `M·O·(n+w)`, `D` |
//!
//! (the children of the listed nodes number at most `M·S`; a descendant
//! segment visits each listed node's subtree, `V` nodes in all). A filter
//! runs for each of its at most `M·S` candidates (`M·O·S` after `..`, `O =
//! D`): each of its relative sub-queries costs its own `W + F` from the
//! candidate, whose subtrees hold at most `M·O·S` nodes together; each
//! absolute one costs its `W + F` over the whole document; each
//! `match`/`search` call [`REGEX_COST`]. The query's cost is `W +
//! PATH_COST·F·D` at `S = N` (each result node's location is built, up to
//! `D` steps long). The bound is a small multiple of `N` for real queries
//! and of the right order for the hostile ones (`N·k^s` for `s` brackets of
//! `k` selectors, `N·D^j` for `j` overlapping descendant segments).

/// Longest query accepted, in bytes.
pub(super) const MAX_QUERY_BYTES: usize = 4096;
/// Deepest nesting of `[` and `(` accepted.
pub(super) const MAX_NESTING: usize = 32;
/// Deepest nesting of filters (`[?...]` inside `[?...]`) accepted.
pub(super) const MAX_FILTER_NESTING: usize = 6;
/// Largest evaluation bound accepted: measured here (release build) at
/// 10–30 ns a unit, so a second or two of work at most.
pub(super) const MAX_COST: f64 = 5e7;
/// Cost charged per `match`/`search` call for compiling its regex (the two
/// functions need `serde_json_path`'s `regex` feature, off in this build).
pub(super) const REGEX_COST: f64 = 200.0;
/// Cost per result node and step of its location.
pub(super) const PATH_COST: f64 = 10.0;

/// Refuses a query that is too long or nests too deeply for the parser.
pub(super) fn check_shape(query: &str) -> Result<(), String> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(format!(
            "the query is {} bytes long; at most {MAX_QUERY_BYTES} are accepted",
            query.len()
        ));
    }
    // One frame per open `[` or `(`: whether it is a filter selector.
    let mut frames: Vec<bool> = Vec::new();
    let mut filters = 0usize;
    let mut chars = query.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                // A string literal: `\` escapes the next character.
                while let Some(s) = chars.next() {
                    if s == '\\' {
                        chars.next();
                    } else if s == c {
                        break;
                    }
                }
            }
            '[' | '(' => {
                frames.push(false);
                if frames.len() > MAX_NESTING {
                    return Err(format!(
                        "brackets and parentheses nest deeper than {MAX_NESTING} levels"
                    ));
                }
            }
            ']' | ')' => {
                let closes_filter = frames.pop() == Some(true);
                filters -= usize::from(closes_filter);
            }
            // `?` appears only as a filter selector's mark.
            '?' => {
                if let Some(top) = frames.last_mut() {
                    if !*top {
                        *top = true;
                        filters += 1;
                        if filters > MAX_FILTER_NESTING {
                            return Err(format!(
                                "filters nest deeper than {MAX_FILTER_NESTING} levels"
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The two facts of a document the bound needs.
#[derive(Debug, Clone, Copy)]
pub(super) struct DocShape {
    /// Nodes (every value, containers included).
    pub(super) nodes: f64,
    /// Levels (1 for a scalar).
    pub(super) depth: f64,
}

impl DocShape {
    /// Measures `value` without recursion.
    pub(super) fn of(value: &serde_json::Value) -> Self {
        let mut nodes = 0u64;
        let mut depth = 0usize;
        let mut stack = vec![(value, 1usize)];
        while let Some((v, level)) = stack.pop() {
            nodes += 1;
            depth = depth.max(level);
            match v {
                serde_json::Value::Array(items) => {
                    stack.extend(items.iter().map(|i| (i, level + 1)));
                }
                serde_json::Value::Object(map) => {
                    stack.extend(map.values().map(|i| (i, level + 1)));
                }
                _ => {}
            }
        }
        #[allow(clippy::cast_precision_loss)]
        Self {
            nodes: nodes as f64,
            depth: depth as f64,
        }
    }
}

/// The evaluation bound of `query` (already accepted by the parser) on a
/// document of shape `doc`.
pub(super) fn cost(query: &str, doc: DocShape) -> f64 {
    let mut skim = Skim {
        s: query.as_bytes(),
        i: 0,
        doc,
    };
    skim.ws();
    let q = skim.query();
    q.work.at(doc.nodes) + PATH_COST * q.list.at(doc.nodes) * doc.depth
}

/// `fixed + per_node·S`: a bound for a start subtree of `S` nodes.
#[derive(Debug, Clone, Copy, Default)]
struct Linear {
    fixed: f64,
    per_node: f64,
}

impl Linear {
    fn at(self, size: f64) -> f64 {
        self.fixed + self.per_node * size
    }

    fn scaled(self, by: f64) -> Self {
        Self {
            fixed: self.fixed * by,
            per_node: self.per_node * by,
        }
    }

    fn plus(self, other: Self) -> Self {
        Self {
            fixed: self.fixed + other.fixed,
            per_node: self.per_node + other.per_node,
        }
    }

    /// `by·S`.
    fn per_node(by: f64) -> Self {
        Self {
            fixed: 0.0,
            per_node: by,
        }
    }
}

/// A query's bounds from one start node.
struct Bound {
    work: Linear,
    /// The length of its node list.
    list: Linear,
    /// The most times one node can be in the list.
    multiplicity: f64,
    /// The most listed subtrees one node can be inside (per duplicate).
    overlap: f64,
}

/// A bracket's or shorthand's selectors, and their filters' costs.
#[derive(Default)]
struct Selection {
    /// Name and index selectors.
    narrow: f64,
    /// Wildcards, slices and filters.
    wide: f64,
    /// Sum over filters of their cost per candidate.
    per_candidate: f64,
    /// Sum over filters of their cost per node of a candidate's subtree.
    per_candidate_node: f64,
}

/// A recursive walk over a valid query's text. Its recursion follows the
/// query's nesting, bounded by [`check_shape`].
struct Skim<'q> {
    s: &'q [u8],
    i: usize,
    doc: DocShape,
}

impl Skim<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn starts_with(&self, text: &[u8]) -> bool {
        self.s
            .get(self.i..)
            .is_some_and(|rest| rest.starts_with(text))
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// A query at `$` or `@`.
    fn query(&mut self) -> Bound {
        let depth = self.doc.depth;
        self.i += 1;
        let mut b = Bound {
            work: Linear::default(),
            list: Linear {
                fixed: 1.0,
                per_node: 0.0,
            },
            multiplicity: 1.0,
            overlap: 1.0,
        };
        loop {
            let before = self.i;
            self.ws();
            let descendant = self.starts_with(b"..");
            let selection = if descendant {
                self.i += 2;
                if self.peek() == Some(b'[') {
                    self.bracket()
                } else {
                    self.shorthand()
                }
            } else if self.peek() == Some(b'.') {
                self.i += 1;
                self.shorthand()
            } else if self.peek() == Some(b'[') {
                self.bracket()
            } else {
                self.i = before;
                break;
            };
            let Selection {
                narrow,
                wide,
                per_candidate,
                per_candidate_node,
            } = selection;
            if descendant {
                // Every node of every listed subtree, `V` in all.
                let reached = b.multiplicity * b.overlap;
                let visited = Linear::per_node(reached);
                let candidates = visited.scaled(wide);
                let filters = Linear::per_node(
                    reached * per_candidate + reached * depth * per_candidate_node,
                );
                b.work = b
                    .work
                    .plus(visited)
                    .plus(visited.scaled(narrow))
                    .plus(candidates)
                    .plus(filters);
                b.list = visited.scaled(narrow + wide);
                b.multiplicity = reached * (narrow + wide);
                b.overlap = depth;
            } else {
                let m = b.multiplicity;
                let children = Linear::per_node(m * wide);
                let filters =
                    Linear::per_node(m * per_candidate + m * b.overlap * per_candidate_node);
                b.work = b
                    .work
                    .plus(b.list.scaled(narrow))
                    .plus(children)
                    .plus(filters);
                b.list = b.list.scaled(narrow).plus(children);
                b.multiplicity = m * (narrow + wide);
            }
        }
        b
    }

    /// `*` or a member name after `.` or `..`.
    fn shorthand(&mut self) -> Selection {
        if self.peek() == Some(b'*') {
            self.i += 1;
            return Selection {
                wide: 1.0,
                ..Selection::default()
            };
        }
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80)
        {
            self.i += 1;
        }
        Selection {
            narrow: 1.0,
            ..Selection::default()
        }
    }

    /// A bracketed selection.
    fn bracket(&mut self) -> Selection {
        self.i += 1;
        let mut sel = Selection::default();
        loop {
            self.ws();
            match self.peek() {
                None => break,
                Some(b']') => {
                    self.i += 1;
                    break;
                }
                Some(b',') => self.i += 1,
                Some(q @ (b'\'' | b'"')) => {
                    self.string(q);
                    sel.narrow += 1.0;
                }
                Some(b'?') => {
                    self.i += 1;
                    self.expression(&mut sel);
                    sel.wide += 1.0;
                }
                Some(_) => {
                    // `*`, an index or a slice.
                    let start = self.i;
                    while !matches!(self.peek(), None | Some(b',' | b']')) {
                        self.i += 1;
                    }
                    let text = &self.s[start..self.i];
                    if text
                        .iter()
                        .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b' '))
                    {
                        sel.narrow += 1.0;
                    } else {
                        sel.wide += 1.0;
                    }
                }
            }
        }
        sel
    }

    /// A filter's logical expression, up to the `,` or `]` that ends it;
    /// its costs are added to `sel`.
    fn expression(&mut self, sel: &mut Selection) {
        let n = self.doc.nodes;
        let mut parens = 0usize;
        loop {
            self.ws();
            match self.peek() {
                None => break,
                Some(b',' | b']' | b')') if parens == 0 => break,
                Some(b'(') => {
                    parens += 1;
                    self.i += 1;
                }
                Some(b')') => {
                    parens -= 1;
                    self.i += 1;
                }
                Some(b'@') => {
                    let q = self.query();
                    let both = q.work.plus(q.list);
                    sel.per_candidate += both.fixed;
                    sel.per_candidate_node += both.per_node;
                }
                Some(b'$') => {
                    let q = self.query();
                    sel.per_candidate += q.work.plus(q.list).at(n);
                }
                Some(q @ (b'\'' | b'"')) => self.string(q),
                Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                    let start = self.i;
                    while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_') {
                        self.i += 1;
                    }
                    if matches!(&self.s[start..self.i], b"match" | b"search") {
                        sel.per_candidate += REGEX_COST;
                    }
                }
                Some(_) => self.i += 1,
            }
        }
    }

    /// Skips a string literal opened by `quote`.
    fn string(&mut self, quote: u8) {
        self.i += 1;
        while let Some(c) = self.peek() {
            self.i += 1;
            if c == b'\\' {
                self.i += 1;
            } else if c == quote {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Any text the shape check lets through is priced without a panic
        // (the tool only prices queries the parser accepted).
        #[test]
        fn pricing_never_panics(q in "[$@.\\[\\]?*,:()'\"a-z0-9 <=!&|\\\\-]{0,300}") {
            if check_shape(&q).is_ok() {
                let c = cost(&q, shape(100.0, 5.0));
                prop_assert!(c >= 0.0);
            }
        }
    }

    fn shape(nodes: f64, depth: f64) -> DocShape {
        DocShape { nodes, depth }
    }

    #[test]
    fn shapes_are_refused_before_parsing() {
        assert!(check_shape("$.a[?@.b > 1]").is_ok());
        assert!(check_shape(&format!("$[?{}@{}]", "(".repeat(5000), ")".repeat(5000))).is_err());
        let filters = |n: usize| format!("${}{}", "[?@".repeat(n), "]".repeat(n));
        assert!(check_shape(&filters(MAX_FILTER_NESTING)).is_ok());
        assert!(check_shape(&filters(MAX_FILTER_NESTING + 1)).is_err());
        // Brackets inside string literals do not count.
        let quoted = format!("$['{}']", "[(".repeat(100));
        assert!(check_shape(&quoted).is_ok());
        // Sibling filters do not nest.
        assert!(check_shape(&format!("$[?{}@]", "@[?@] && ".repeat(50))).is_ok());
        assert!(check_shape(&"a".repeat(MAX_QUERY_BYTES + 1)).is_err());
    }

    #[test]
    fn real_queries_on_large_documents_are_accepted() {
        // 100,000 nodes, 12 levels: a JSON text of several megabytes.
        let doc = shape(1e5, 12.0);
        for q in [
            "$.store.book[0].title",
            "$..book[?@.price < 10].title",
            "$.store.*",
            "$..author",
            "$.items[?@.tags[?@ == 'x']]",
            "$[?length(@.tags) > 2 && @.active == true]",
            "$.items[?@.price == $.limits.max]",
            "$.items[?match(@.name, 'a.*')]",
            "$.items[1:10:2]['a', 'b']",
        ] {
            let c = cost(q, doc);
            assert!(c < MAX_COST, "{q}: {c}");
        }
        // Name and index selectors cost the same on any document.
        let singular = cost("$.a.b[3].c", shape(1e9, 50.0));
        assert!(singular < 1000.0, "{singular}");
    }

    #[test]
    fn hostile_queries_are_priced_out() {
        let tiny = shape(10.0, 4.0);
        let unions = format!("${}", "[0,0,0,0,0,0,0,0,0,0]".repeat(8));
        assert!(cost(&unions, tiny) > MAX_COST);
        let descendants = format!("${}", "..*".repeat(20));
        assert!(cost(&descendants, shape(1000.0, 10.0)) > MAX_COST);
        let nested = "$..[?@..[?@..[?@..[?@..x]]]]";
        assert!(cost(nested, shape(1e4, 20.0)) > MAX_COST);
        // The same queries on a small document are fine.
        assert!(cost("$..*..*", shape(100.0, 5.0)) < MAX_COST);
    }
}
