//! The hook context a Lua hook receives, built lazily.
//!
//! A hook that looks at nothing should cost almost nothing, and most hooks
//! read one or two fields. So the table a hook gets starts empty apart from
//! a hidden reference to a snapshot of the [`HookContext`] (a userdata that
//! the table keeps alive), and a shared metatable fills it in on access:
//!
//! - `ctx.point`, `ctx.correlation_id`, `ctx.component_id`, `ctx.language`,
//!   `ctx.metadata`, `ctx.operation`, `ctx.timestamp`, `ctx.parent` are
//!   converted on first read and stored in the table (later reads are plain
//!   table reads);
//! - `ctx.data` is a table of its own that converts each data field on
//!   first read (`ctx.data.parameters` converts `parameters` only);
//! - assigning a field (`ctx.data.x = v`, `ctx.data.x = nil`) hands it to the
//!   script: the snapshot's value is never used for it again;
//! - `pairs(ctx)` and `pairs(ctx.data)` convert everything left first
//!   (`__pairs`) and iterate without the hidden key; `JSON.encode`, a
//!   `modified` result and every other conversion to JSON take the fields a
//!   script never read straight from the snapshot, without a trip through
//!   Lua.
//!
//! The snapshot is a copy made when the hook is called, so a table kept
//! after the hook returned (`seen = ctx`) reads the same values later.
//! The shape is exactly [`JsonHookAdapter`](llmspell_hooks::JsonHookAdapter)'s
//! context form (tested). Only a raw `next(ctx)` sees the hidden key, and
//! only the fields read so far.

use std::collections::HashMap;
use std::ffi::c_void;

use chrono::{DateTime, Utc};
use llmspell_hooks::{ComponentId, HookContext, HookPoint, Language, OperationContext};
use mlua::{AnyUserData, Function, LightUserData, Lua, Table, UserData, Value};
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use super::convert::json_to_lua;
use crate::error::Result;

/// The address of this static is the hidden key of the snapshot.
static STATE_KEY: u8 = 0;

/// The hidden key under which a context or data table keeps its snapshot.
pub(crate) fn state_key() -> LightUserData {
    LightUserData(std::ptr::addr_of!(STATE_KEY).cast_mut().cast::<c_void>())
}

/// The context fields, in the order of the `done` bits.
const FIELDS: [&str; 9] = [
    "point",
    "correlation_id",
    "component_id",
    "language",
    "metadata",
    "data",
    "operation",
    "timestamp",
    "parent",
];

fn field_index(key: &[u8]) -> Option<usize> {
    FIELDS.iter().position(|f| f.as_bytes() == key)
}

/// The parent context's identity (`ctx.parent`).
#[derive(Debug)]
struct Parent {
    point: HookPoint,
    component: ComponentId,
    correlation_id: Uuid,
}

/// The copy of a [`HookContext`] behind one context table.
#[derive(Debug)]
pub(crate) struct Snapshot {
    point: HookPoint,
    correlation_id: Uuid,
    component: ComponentId,
    language: Language,
    metadata: HashMap<String, String>,
    /// The data fields, sorted by key (the order of the JSON map).
    data: Vec<(String, Json)>,
    operation: Option<OperationContext>,
    timestamp: DateTime<Utc>,
    parent: Option<Parent>,
    /// Bit `i`: context field `FIELDS[i]` was handed to the script.
    fields_done: u16,
    /// Per data field: handed to the script (converted or assigned).
    data_done: Vec<bool>,
}

impl UserData for Snapshot {}

impl Snapshot {
    fn new(ctx: &HookContext) -> Self {
        let data: Vec<(String, Json)> = ctx
            .data
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Snapshot {
            point: ctx.point.clone(),
            correlation_id: ctx.correlation_id,
            component: ctx.component.clone(),
            language: ctx.language,
            metadata: ctx.metadata.clone(),
            data_done: vec![false; data.len()],
            data,
            operation: ctx.operation.clone(),
            timestamp: ctx.timestamp,
            parent: ctx.parent.as_deref().map(|p| Parent {
                point: p.point.clone(),
                component: p.component.clone(),
                correlation_id: p.correlation_id,
            }),
            fields_done: 0,
        }
    }

    fn data_index(&self, key: &[u8]) -> Option<usize> {
        self.data
            .binary_search_by(|(k, _)| k.as_bytes().cmp(key))
            .ok()
    }
}

/// The shared metatables and iterator of lazy context tables, one set per
/// Lua state.
#[derive(Debug, Clone)]
pub(crate) struct LazyContext {
    ctx_mt: Table,
    data_mt: Table,
}

fn uuid_string(lua: &Lua, id: &Uuid) -> mlua::Result<Value> {
    let mut buf = Uuid::encode_buffer();
    Ok(Value::String(
        lua.create_string(&*id.hyphenated().encode_lower(&mut buf))?,
    ))
}

fn component_table(lua: &Lua, c: &ComponentId) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(0, 3)?;
    t.raw_set("type", c.component_type.to_string())?;
    t.raw_set("name", c.name.as_str())?;
    t.raw_set("id", uuid_string(lua, &c.id)?)?;
    Ok(Value::Table(t))
}

fn point_string(lua: &Lua, p: &HookPoint) -> mlua::Result<Value> {
    Ok(Value::String(match p.name() {
        Some(name) => lua.create_string(name)?,
        None => lua.create_string(p.to_string())?,
    }))
}

fn conv(e: crate::error::BridgeError) -> mlua::Error {
    mlua::Error::external(e)
}

/// The value of context field `i` (`FIELDS[i]`) other than `data`.
fn field_value(lua: &Lua, s: &Snapshot, i: usize) -> mlua::Result<Value> {
    Ok(match FIELDS[i] {
        "point" => point_string(lua, &s.point)?,
        "correlation_id" => uuid_string(lua, &s.correlation_id)?,
        "component_id" => component_table(lua, &s.component)?,
        "language" => Value::String(lua.create_string(s.language.as_str())?),
        "metadata" => {
            let t = lua.create_table_with_capacity(0, s.metadata.len())?;
            for (k, v) in &s.metadata {
                t.raw_set(k.as_str(), v.as_str())?;
            }
            Value::Table(t)
        }
        "operation" => match &s.operation {
            None => Value::Nil,
            Some(op) => {
                let o = lua.create_table_with_capacity(0, 5)?;
                o.raw_set("type", op.operation_type.as_str())?;
                o.raw_set("id", uuid_string(lua, &op.operation_id)?)?;
                o.raw_set(
                    "parameters",
                    json_to_lua(lua, &op.parameters).map_err(conv)?,
                )?;
                if let Some(r) = &op.result {
                    o.raw_set("result", json_to_lua(lua, r).map_err(conv)?)?;
                }
                if let Some(e) = &op.error {
                    o.raw_set("error", e.as_str())?;
                }
                Value::Table(o)
            }
        },
        "timestamp" => Value::String(lua.create_string(s.timestamp.to_rfc3339())?),
        "parent" => match &s.parent {
            None => Value::Nil,
            Some(p) => {
                let t = lua.create_table_with_capacity(0, 3)?;
                t.raw_set("point", point_string(lua, &p.point)?)?;
                t.raw_set("component_id", component_table(lua, &p.component)?)?;
                t.raw_set("correlation_id", uuid_string(lua, &p.correlation_id)?)?;
                Value::Table(t)
            }
        },
        _ => Value::Nil,
    })
}

fn snapshot_of(t: &Table) -> mlua::Result<Option<AnyUserData>> {
    match t.raw_get::<Value>(state_key())? {
        Value::UserData(ud) => Ok(Some(ud)),
        _ => Ok(None),
    }
}

impl LazyContext {
    /// Creates the metatables in `lua`.
    pub(crate) fn new(lua: &Lua) -> mlua::Result<Self> {
        // Iterates a lazy table without its hidden key.
        let next: Function = lua.globals().raw_get("next")?;
        let iter: Function = lua
            .load(
                r"
                local next, hidden = ...
                return function(t, k)
                    local v
                    k, v = next(t, k)
                    if k == hidden then k, v = next(t, k) end
                    return k, v
                end",
            )
            .set_name("=llmspell.context_pairs")
            .call((next, state_key()))?;

        let ctx_mt = lua.create_table()?;
        let data_mt = lua.create_table()?;

        let data_mt_ref = data_mt.clone();
        ctx_mt.raw_set(
            "__index",
            lua.create_function(move |lua, (t, key): (Table, Value)| {
                let Value::String(key) = key else {
                    return Ok(Value::Nil);
                };
                let Some(i) = field_index(&key.as_bytes()) else {
                    return Ok(Value::Nil);
                };
                let Some(ud) = snapshot_of(&t)? else {
                    return Ok(Value::Nil);
                };
                let v = context_field(lua, &ud, &data_mt_ref, i)?;
                t.raw_set(key, v.clone())?;
                Ok(v)
            })?,
        )?;
        ctx_mt.raw_set(
            "__newindex",
            lua.create_function(|_, (t, key, value): (Table, Value, Value)| {
                if let (Value::String(k), Some(ud)) = (&key, snapshot_of(&t)?) {
                    if let Some(i) = field_index(&k.as_bytes()) {
                        ud.borrow_mut::<Snapshot>()?.fields_done |= 1 << i;
                    }
                }
                t.raw_set(key, value)
            })?,
        )?;
        let data_mt_ref = data_mt.clone();
        let ctx_iter = iter.clone();
        ctx_mt.raw_set(
            "__pairs",
            lua.create_function(move |lua, t: Table| {
                materialise_context(lua, &t, &data_mt_ref)?;
                Ok((ctx_iter.clone(), t, Value::Nil))
            })?,
        )?;

        data_mt.raw_set(
            "__index",
            lua.create_function(|lua, (t, key): (Table, Value)| {
                let Value::String(key) = key else {
                    return Ok(Value::Nil);
                };
                let Some(ud) = snapshot_of(&t)? else {
                    return Ok(Value::Nil);
                };
                let v = {
                    let mut s = ud.borrow_mut::<Snapshot>()?;
                    let Some(i) = s.data_index(&key.as_bytes()) else {
                        return Ok(Value::Nil);
                    };
                    if s.data_done[i] {
                        return Ok(Value::Nil);
                    }
                    s.data_done[i] = true;
                    json_to_lua(lua, &s.data[i].1).map_err(conv)?
                };
                t.raw_set(key, v.clone())?;
                Ok(v)
            })?,
        )?;
        data_mt.raw_set(
            "__newindex",
            lua.create_function(|_, (t, key, value): (Table, Value, Value)| {
                if let (Value::String(k), Some(ud)) = (&key, snapshot_of(&t)?) {
                    let mut s = ud.borrow_mut::<Snapshot>()?;
                    if let Some(i) = s.data_index(&k.as_bytes()) {
                        s.data_done[i] = true;
                    }
                }
                t.raw_set(key, value)
            })?,
        )?;
        data_mt.raw_set(
            "__pairs",
            lua.create_function(move |lua, t: Table| {
                materialise_data(lua, &t)?;
                Ok((iter.clone(), t, Value::Nil))
            })?,
        )?;
        Ok(LazyContext { ctx_mt, data_mt })
    }

    /// The context table for `ctx`.
    pub(crate) fn table(&self, lua: &Lua, ctx: &HookContext) -> Result<Table> {
        let ud = lua.create_userdata(Snapshot::new(ctx))?;
        let t = lua.create_table_with_capacity(0, 2)?;
        t.raw_set(state_key(), ud)?;
        t.set_metatable(Some(self.ctx_mt.clone()))?;
        Ok(t)
    }

    /// Whether `mt` is the metatable of lazy context or data tables.
    pub(crate) fn kind_of(&self, mt: &Table) -> Option<LazyKind> {
        if mt == &self.data_mt {
            Some(LazyKind::Data)
        } else if mt == &self.ctx_mt {
            Some(LazyKind::Context)
        } else {
            None
        }
    }

    /// Converts what a script never read of `ctx` (context table) into it.
    pub(crate) fn materialise_context(&self, lua: &Lua, t: &Table) -> mlua::Result<()> {
        materialise_context(lua, t, &self.data_mt)
    }

    /// The data fields of a lazy data table that the script never read or
    /// assigned, as JSON (read from the snapshot).
    pub(crate) fn unread_data(t: &Table) -> mlua::Result<Map<String, Json>> {
        let mut out = Map::new();
        if let Some(ud) = snapshot_of(t)? {
            let s = ud.borrow::<Snapshot>()?;
            for ((k, v), done) in s.data.iter().zip(&s.data_done) {
                if !done && !v.is_null() {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(out)
    }
}

/// Which kind of lazy table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LazyKind {
    /// A context table.
    Context,
    /// A `ctx.data` table.
    Data,
}

/// Context field `i` of the snapshot `ud`, marked as handed over.
fn context_field(lua: &Lua, ud: &AnyUserData, data_mt: &Table, i: usize) -> mlua::Result<Value> {
    let mut s = ud.borrow_mut::<Snapshot>()?;
    if s.fields_done & (1 << i) != 0 {
        return Ok(Value::Nil);
    }
    s.fields_done |= 1 << i;
    if FIELDS[i] == "data" {
        drop(s);
        let d = lua.create_table()?;
        d.raw_set(state_key(), ud.clone())?;
        d.set_metatable(Some(data_mt.clone()))?;
        return Ok(Value::Table(d));
    }
    field_value(lua, &s, i)
}

fn materialise_context(lua: &Lua, t: &Table, data_mt: &Table) -> mlua::Result<()> {
    let Some(ud) = snapshot_of(t)? else {
        return Ok(());
    };
    for (i, name) in FIELDS.iter().enumerate() {
        let v = context_field(lua, &ud, data_mt, i)?;
        if !v.is_nil() {
            t.raw_set(*name, v)?;
        }
    }
    Ok(())
}

fn materialise_data(lua: &Lua, t: &Table) -> mlua::Result<()> {
    let Some(ud) = snapshot_of(t)? else {
        return Ok(());
    };
    let mut s = ud.borrow_mut::<Snapshot>()?;
    let s = &mut *s;
    for ((k, v), done) in s.data.iter().zip(s.data_done.iter_mut()) {
        if !*done {
            *done = true;
            if !v.is_null() {
                t.raw_set(k.as_str(), json_to_lua(lua, v).map_err(conv)?)?;
            }
        }
    }
    Ok(())
}

/// For conversions that walk a table: the values of a lazy table that are
/// not in it yet. Context tables are filled in (their fields are small);
/// for data tables the unread fields come back as JSON.
pub(crate) fn pending(
    lazy: &LazyContext,
    lua: &Lua,
    t: &Table,
    kind: LazyKind,
) -> Result<Option<Map<String, Json>>> {
    match kind {
        LazyKind::Context => {
            lazy.materialise_context(lua, t)?;
            Ok(None)
        }
        LazyKind::Data => Ok(Some(LazyContext::unread_data(t)?)),
    }
}

#[cfg(test)]
mod tests {
    use llmspell_hooks::{ComponentType, JsonHookAdapter};
    use serde_json::json;

    use super::*;
    use crate::lua::convert::lua_to_json;

    fn lua() -> (Lua, LazyContext) {
        let lua = Lua::new();
        let lazy = LazyContext::new(&lua).unwrap();
        lua.set_app_data(lazy.clone());
        (lua, lazy)
    }

    fn context() -> HookContext {
        let parent = HookContext::builder(
            HookPoint::BeforeAgentExecution,
            ComponentId::new(ComponentType::Agent, "writer"),
        )
        .build();
        let mut ctx = HookContext::builder(
            HookPoint::custom("x"),
            ComponentId::new(ComponentType::Tool, "calculator"),
        )
        .data("tool_name", json!("calculator"))
        .data(
            "parameters",
            json!({"expression": "1", "list": [1, null, 2.5], "e": []}),
        )
        .data("result", json!(null))
        .metadata("caller", "test")
        .parent(parent)
        .build();
        ctx.operation = Some(
            OperationContext::new("tool_execution", json!({"a": 1})).with_result(json!([true])),
        );
        ctx
    }

    /// The one JSON form as a script sees it (null members left out).
    fn expected(lua: &Lua, ctx: &HookContext) -> Json {
        let v = JsonHookAdapter::context_to_json(ctx);
        lua_to_json(lua, &json_to_lua(lua, &v).unwrap()).unwrap()
    }

    #[test]
    fn an_unread_table_converts_to_the_json_form() {
        let (lua, lazy) = lua();
        let ctx = context();
        let t = lazy.table(&lua, &ctx).unwrap();
        let got = lua_to_json(&lua, &Value::Table(t)).unwrap();
        assert_eq!(got, expected(&lua, &ctx));
        assert_eq!(got["point"], json!("custom:x"));
        assert_eq!(got["parent"]["point"], json!("BeforeAgentExecution"));
        assert_eq!(got["parent"]["component_id"]["name"], json!("writer"));
        assert_eq!(got["data"]["parameters"]["list"], json!([1, null, 2.5]));
    }

    #[test]
    fn reading_iterating_and_keeping_the_table_match_the_json_form() {
        let (lua, lazy) = lua();
        let ctx = context();
        let t = lazy.table(&lua, &ctx).unwrap();
        lua.globals().set("ctx", t).unwrap();
        // Read some fields, iterate the rest; the hidden key never shows.
        let keys: Vec<String> = lua
            .load(
                r#"
                assert(ctx.point == "custom:x")
                assert(ctx.data.tool_name == "calculator")
                assert(ctx.parent.component_id.type == "agent")
                local keys = {}
                for k in pairs(ctx) do keys[#keys + 1] = k end
                for k in pairs(ctx.data) do keys[#keys + 1] = "data." .. k end
                table.sort(keys)
                return keys
                "#,
            )
            .eval()
            .unwrap();
        assert_eq!(
            keys,
            [
                "component_id",
                "correlation_id",
                "data",
                "data.parameters",
                "data.tool_name",
                "language",
                "metadata",
                "operation",
                "parent",
                "point",
                "timestamp"
            ]
        );
        drop(ctx);
        let got = lua_to_json(&lua, &lua.globals().get::<Value>("ctx").unwrap()).unwrap();
        assert_eq!(got, expected(&lua, &context_like(&got)));
    }

    /// `context()` with the ids and timestamp of an already converted one.
    fn context_like(got: &Json) -> HookContext {
        let mut ctx = context();
        ctx.correlation_id = got["correlation_id"].as_str().unwrap().parse().unwrap();
        ctx.component.id = got["component_id"]["id"].as_str().unwrap().parse().unwrap();
        ctx.timestamp = got["timestamp"].as_str().unwrap().parse().unwrap();
        let op = ctx.operation.as_mut().unwrap();
        op.operation_id = got["operation"]["id"].as_str().unwrap().parse().unwrap();
        let parent = ctx.parent.as_mut().unwrap();
        parent.correlation_id = got["parent"]["correlation_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        parent.component.id = got["parent"]["component_id"]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        ctx
    }

    #[test]
    fn assignments_win_over_the_snapshot() {
        let (lua, lazy) = lua();
        let ctx = context();
        let t = lazy.table(&lua, &ctx).unwrap();
        lua.globals().set("ctx", t).unwrap();
        let d: Value = lua
            .load(
                r#"
                local d = ctx.data
                d.extra = 1                     -- a new key
                d.tool_name = nil               -- deleted before it was read
                local p = d.parameters          -- read, then deleted
                d.parameters = nil
                assert(d.parameters == nil and d.tool_name == nil)
                ctx.point = nil                 -- context fields too
                assert(ctx.point == nil)
                return d
                "#,
            )
            .eval()
            .unwrap();
        let data = lua_to_json(&lua, &d).unwrap();
        assert_eq!(data, json!({"extra": 1}));
        let all = lua_to_json(&lua, &lua.globals().get::<Value>("ctx").unwrap()).unwrap();
        assert!(all.get("point").is_none(), "{all}");
        assert_eq!(all["data"], json!({"extra": 1}));
    }

    #[test]
    fn a_table_without_reads_needs_no_conversion_of_data() {
        let (lua, lazy) = lua();
        let mut ctx = context();
        // A value with no Lua form would fail the conversion if it were made.
        ctx.data.insert("deep".into(), nest(200));
        let t = lazy.table(&lua, &ctx).unwrap();
        lua.globals().set("ctx", t).unwrap();
        let point: String = lua.load("return ctx.point").eval().unwrap();
        assert_eq!(point, "custom:x");
        let err = lua.load("return ctx.data.deep").exec().unwrap_err();
        assert!(err.to_string().contains("nested deeper"), "{err}");
    }

    fn nest(n: usize) -> Json {
        (0..n).fold(json!(1), |v, _| json!([v]))
    }
}
