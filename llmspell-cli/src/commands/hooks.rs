//! `llmspell hooks points`.

use std::io::Write;

use llmspell_bridge::GlobalContext;
use llmspell_hooks::HookPoint;
use serde_json::json;

use crate::error::{CliError, Result};
use crate::output::{Output, Table};

/// Every point with its category and what fires it in `llmspell run`
/// (`fired` is false, and `fired_by` says what would, for a point no
/// component of this build fires); then the custom form. As a table
/// (`CATEGORY  POINT  FIRED  FIRED BY`) or, with `json`, a JSON array.
pub(crate) fn points(as_json: bool, style: &Output, out: &mut (dyn Write + Send)) -> Result<()> {
    // The components of a `llmspell run` declare the points they fire.
    let context = GlobalContext::builder().build()?;
    let registry = context.hook_registry();
    let mut rows = Vec::with_capacity(HookPoint::ALL.len() + 1);
    for point in &HookPoint::ALL {
        let (fired, by) = match registry.fired_by(point) {
            Some(by) => (true, by),
            None => (false, point.firer().to_string()),
        };
        rows.push((point.category().to_string(), point.to_string(), fired, by));
    }
    rows.push((
        "custom".to_owned(),
        "custom:<name>".to_owned(),
        true,
        HookPoint::custom("x").firer().to_string(),
    ));
    if as_json {
        let value: Vec<_> = rows
            .iter()
            .map(|(category, point, fired, by)| {
                json!({"category": category, "point": point, "fired": fired, "fired_by": by})
            })
            .collect();
        let text =
            serde_json::to_string_pretty(&value).map_err(|e| CliError::Usage(e.to_string()))?;
        writeln!(out, "{text}")?;
        return Ok(());
    }
    let mut table = Table::new(&["CATEGORY", "POINT", "FIRED", "FIRED BY"]);
    for (category, point, fired, by) in rows {
        let by = if fired {
            by
        } else {
            format!("not fired in this build ({by})")
        };
        table.row(vec![
            category,
            point,
            if fired { "yes" } else { "no" }.to_owned(),
            by,
        ]);
    }
    write!(out, "{}", table.render(style))?;
    Ok(())
}
