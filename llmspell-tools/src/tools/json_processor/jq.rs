//! jq programs (`query`), run by jaq (jaq-core + jaq-std + jaq-json).
//!
//! Values cross between `serde_json` and jaq as JSON text: exact for
//! every JSON value, and cheap next to running a program.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{data, unwrap_valr, Compiler, Ctx, Vars};
use jaq_json::Val;
use serde_json::Value;

use crate::blocking::Cancel;
use crate::{Result, ToolError};

use super::NAME;

/// Longest jq program accepted, in bytes.
pub(super) const MAX_PROGRAM_LEN: usize = 4096;
/// Most values a program may output.
pub(super) const MAX_OUTPUTS: usize = 100_000;

fn bad(message: impl Into<String>) -> ToolError {
    ToolError::invalid_parameter(NAME, "query", message)
}

/// Checks what can be checked before running: the length, and no
/// definitions of the program's own (`def f: f; f` recurses without a
/// bound and would overflow the worker's stack).
pub(super) fn check(program: &str) -> Result<()> {
    if program.len() > MAX_PROGRAM_LEN {
        return Err(bad(format!(
            "the jq program is longer than {MAX_PROGRAM_LEN} bytes"
        )));
    }
    let defines = program
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| word == "def");
    if defines {
        return Err(bad(
            "jq programs may not define functions (`def`); use the built-in filters",
        ));
    }
    Ok(())
}

/// Runs `program` on `input`; every output value, in order.
pub(super) fn run(program: &str, input: &Value, cancel: &Cancel) -> Result<Vec<Value>> {
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let loader = Loader::new(defs);
    let arena = Arena::default();
    let modules = loader
        .load(
            &arena,
            File {
                code: program,
                path: (),
            },
        )
        .map_err(|errors| {
            let detail: Vec<String> = errors
                .iter()
                .map(|(_, e)| match e {
                    jaq_core::load::Error::Io(items) => items
                        .iter()
                        .map(|(path, msg)| format!("cannot load `{path}`: {msg}"))
                        .collect::<Vec<_>>()
                        .join("; "),
                    jaq_core::load::Error::Lex(items) => items
                        .iter()
                        .map(|(expect, at)| {
                            format!("expected {} at `{}`", expect.as_str(), near(at))
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                    jaq_core::load::Error::Parse(items) => items
                        .iter()
                        .map(|(expect, at)| {
                            format!("expected {} at `{}`", expect.as_str(), near(at))
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                })
                .collect();
            bad(format!("not a valid jq program: {}", detail.join("; ")))
        })?;
    let filter = Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errors| {
            let detail: Vec<String> = errors
                .iter()
                .flat_map(|(_, undefined)| undefined.iter())
                .map(|(name, kind)| format!("undefined {} `{name}`", kind.as_str()))
                .collect();
            bad(format!("not a valid jq program: {}", detail.join("; ")))
        })?;
    let text =
        serde_json::to_string(input).map_err(|e| ToolError::execution(NAME, e.to_string()))?;
    let input = jaq_json::read::parse_single(text.as_bytes())
        .map_err(|e| ToolError::execution(NAME, format!("cannot hand the input to jq: {e}")))?;
    cancel.check(NAME)?;
    let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
    let mut out = Vec::new();
    for item in filter.id.run((ctx, input)).map(unwrap_valr) {
        cancel.check(NAME)?;
        let value = item.map_err(|e| {
            ToolError::invalid_parameter(NAME, "query", format!("the jq program failed: {e}"))
        })?;
        if out.len() == MAX_OUTPUTS {
            return Err(bad(format!(
                "the jq program produced more than {MAX_OUTPUTS} values; narrow it"
            )));
        }
        out.push(to_json(&value)?);
    }
    Ok(out)
}

/// The JSON form of a jaq value. Values JSON cannot hold (NaN, infinite
/// numbers, byte strings) are an error.
fn to_json(value: &Val) -> Result<Value> {
    let text = value.to_string();
    serde_json::from_str(&text).map_err(|_| {
        ToolError::invalid_parameter(
            NAME,
            "query",
            format!("the jq program produced `{text}`, which is not JSON"),
        )
    })
}

/// The first characters of the program text where an error was found.
fn near(at: &str) -> String {
    let end = at.char_indices().nth(24).map_or(at.len(), |(i, _)| i);
    if at.is_empty() {
        "the end".to_owned()
    } else {
        at[..end].to_owned()
    }
}
