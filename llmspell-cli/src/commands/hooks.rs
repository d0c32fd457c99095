//! `llmspell hooks points`.

use std::io::Write;

use llmspell_bridge::GlobalContext;
use llmspell_hooks::HookPoint;

use crate::error::Result;

/// One line per point: `<category>\t<point>\t<who fires it>`, where the
/// last column is what fires the point in `llmspell run`, or `not fired in
/// this build (<what would>)`.
pub(crate) fn points(out: &mut (dyn Write + Send)) -> Result<()> {
    // The components of a `llmspell run` declare the points they fire.
    let context = GlobalContext::builder().build()?;
    let registry = context.hook_registry();
    for point in &HookPoint::ALL {
        let fired = match registry.fired_by(point) {
            Some(by) => by,
            None => format!("not fired in this build ({})", point.firer()),
        };
        writeln!(out, "{}\t{point}\t{fired}", point.category())?;
    }
    writeln!(
        out,
        "custom\tcustom:<name>\t{}",
        HookPoint::custom("x").firer()
    )?;
    Ok(())
}
