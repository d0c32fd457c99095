//! `llmspell hooks points`.

use std::io::Write;

use llmspell_hooks::HookPoint;

use crate::error::Result;

pub(crate) fn points(out: &mut (dyn Write + Send)) -> Result<()> {
    for point in &HookPoint::ALL {
        writeln!(out, "{}\t{point}", point.category())?;
    }
    writeln!(out, "custom\tcustom:<name>")?;
    Ok(())
}
