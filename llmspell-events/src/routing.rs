//! The routing index: which subscriptions an event type reaches.
//!
//! A radix tree over pattern literals. Exact patterns sit at the node of
//! their full text, prefix patterns (`user.*`) at the node of their literal,
//! and every other glob at the node of its literal prefix, where it is then
//! matched in full. Looking up an event type walks the tree once along the
//! type's bytes, so the cost depends on the type's length and on the
//! subscriptions that share its prefixes, not on how many subscriptions
//! exist elsewhere.
//!
//! Tables are immutable once built: the bus builds a new one when the set
//! of subscriptions changes and swaps it in atomically.

use std::sync::Arc;

use crate::queue::Queue;
use crate::PatternKind;

#[derive(Debug, Default)]
struct Node {
    /// The bytes on the edge from the parent.
    label: Box<[u8]>,
    /// Children by the first byte of their label, sorted.
    children: Vec<(u8, u32)>,
    exact: Vec<Arc<Queue>>,
    prefix: Vec<Arc<Queue>>,
    globs: Vec<Arc<Queue>>,
}

/// An immutable routing index.
#[derive(Debug)]
pub(crate) struct RoutingTable {
    nodes: Vec<Node>,
    len: usize,
}

impl RoutingTable {
    /// Indexes `queues`.
    pub(crate) fn build<'a>(queues: impl IntoIterator<Item = &'a Arc<Queue>>) -> Self {
        let mut table = Self {
            nodes: vec![Node::default()],
            len: 0,
        };
        for q in queues {
            table.insert(Arc::clone(q));
        }
        table
    }

    fn insert(&mut self, queue: Arc<Queue>) {
        let (key, slot): (&[u8], u8) = match queue.pattern.kind() {
            PatternKind::Exact(s) => (s.as_bytes(), 0),
            PatternKind::Prefix(s) => (s.as_bytes(), 1),
            PatternKind::Glob { literal_prefix } => (literal_prefix.as_bytes(), 2),
        };
        let key = key.to_vec();
        let node = self.node_for(&key);
        let node = &mut self.nodes[node];
        match slot {
            0 => node.exact.push(queue),
            1 => node.prefix.push(queue),
            _ => node.globs.push(queue),
        }
        self.len += 1;
    }

    /// The node whose path spells exactly `key`, created (splitting an edge
    /// if needed) when missing.
    fn node_for(&mut self, key: &[u8]) -> usize {
        let mut node = 0usize;
        let mut rest = key;
        loop {
            let Some(&first) = rest.first() else {
                return node;
            };
            let pos = self.nodes[node]
                .children
                .binary_search_by_key(&first, |c| c.0);
            let child = match pos {
                Err(at) => {
                    let new = self.push(Node {
                        label: rest.into(),
                        ..Node::default()
                    });
                    self.nodes[node].children.insert(at, (first, new as u32));
                    return new;
                }
                Ok(at) => (at, self.nodes[node].children[at].1 as usize),
            };
            let (at, child) = child;
            let label = &self.nodes[child].label;
            let common = label.iter().zip(rest).take_while(|(a, b)| a == b).count();
            if common == label.len() {
                node = child;
                rest = &rest[common..];
                continue;
            }
            // Split the edge: parent -> mid (label[..common]) -> child (label[common..]).
            let tail: Box<[u8]> = label[common..].into();
            let head: Box<[u8]> = label[..common].into();
            let tail_first = tail[0];
            self.nodes[child].label = tail;
            let mid = self.push(Node {
                label: head,
                children: vec![(tail_first, child as u32)],
                ..Node::default()
            });
            self.nodes[node].children[at].1 = mid as u32;
            node = mid;
            rest = &rest[common..];
        }
    }

    fn push(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Calls `f` once for every subscription whose pattern matches
    /// `event_type`.
    #[inline]
    pub(crate) fn for_each_match(&self, event_type: &str, mut f: impl FnMut(&Arc<Queue>)) {
        if self.len == 0 {
            return;
        }
        let text = event_type.as_bytes();
        let mut node = &self.nodes[0];
        let mut pos = 0;
        loop {
            node.prefix.iter().for_each(&mut f);
            for q in &node.globs {
                if q.pattern.matches(event_type) {
                    f(q);
                }
            }
            let Some(&next) = text.get(pos) else {
                node.exact.iter().for_each(&mut f);
                return;
            };
            let Ok(at) = node.children.binary_search_by_key(&next, |c| c.0) else {
                return;
            };
            let child = &self.nodes[node.children[at].1 as usize];
            if !text[pos..].starts_with(&child.label) {
                return;
            }
            pos += child.label.len();
            node = child;
        }
    }
}
