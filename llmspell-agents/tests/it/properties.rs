//! Properties of stream assembly and the lifecycle table.

use proptest::prelude::*;
use serde_json::json;

use llmspell_agents::{AgentState, CompletionAccumulator, StreamEvent};

proptest! {
    /// However a provider splits text and tool-call arguments into
    /// fragments (and interleaves calls), the assembled answer is the same.
    #[test]
    fn fragments_reassemble_whatever_the_split(
        text in "[a-z ]{0,40}",
        a in 0i64..1000,
        b in "[a-z]{0,12}",
        cuts in proptest::collection::vec(0usize..64, 0..6),
    ) {
        let args0 = json!({"n": a, "s": b}).to_string();
        let args1 = json!({"list": [a, a + 1]}).to_string();
        let split = |s: &str| -> Vec<String> {
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (s.len() + 1)).filter(|p| s.is_char_boundary(*p)).collect();
            points.sort_unstable();
            points.dedup();
            let mut out = Vec::new();
            let mut last = 0;
            for p in points.into_iter().chain([s.len()]) {
                out.push(s[last..p].to_owned());
                last = p;
            }
            out
        };
        let mut acc = CompletionAccumulator::new();
        for piece in split(&text) {
            acc.push(&StreamEvent::Text(piece));
        }
        let (f0, f1) = (split(&args0), split(&args1));
        for i in 0..f0.len().max(f1.len()) {
            if let Some(p) = f0.get(i) {
                acc.push(&StreamEvent::ToolCallFragment { index: 0, id: (i == 0).then(|| "a".into()), name: (i == 0).then(|| "first".into()), arguments: p.clone() });
            }
            if let Some(p) = f1.get(i) {
                acc.push(&StreamEvent::ToolCallFragment { index: 1, id: (i == 0).then(|| "b".into()), name: (i == 0).then(|| "second".into()), arguments: p.clone() });
            }
        }
        let c = acc.finish("p", "m").unwrap();
        prop_assert_eq!(c.text, text);
        prop_assert_eq!(c.tool_calls.len(), 2);
        prop_assert_eq!(&c.tool_calls[0].name, "first");
        prop_assert_eq!(c.tool_calls[0].arguments.clone(), json!({"n": a, "s": b}));
        prop_assert_eq!(c.tool_calls[1].arguments.clone(), json!({"list": [a, a + 1]}));
    }

    /// Every state can reach Terminated through the table, and Terminated
    /// leads nowhere.
    #[test]
    fn every_state_can_shut_down(i in 0usize..9) {
        let mut s = AgentState::ALL[i];
        let mut steps = 0;
        while s != AgentState::Terminated {
            s = AgentState::ALL.into_iter().find(|t| s.can_transition_to(*t) && (*t == AgentState::Terminating || *t == AgentState::Terminated))
                .or_else(|| AgentState::ALL.into_iter().find(|t| s.can_transition_to(*t)))
                .unwrap();
            steps += 1;
            prop_assert!(steps < 10);
        }
        prop_assert!(AgentState::ALL.iter().all(|t| !AgentState::Terminated.can_transition_to(*t)));
    }
}
