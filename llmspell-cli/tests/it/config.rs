//! `llmspell.toml`, `LLMSPELL_...` overrides, `config show|init`, and the
//! policy flags of `llmspell run`.

use std::path::Path;
use std::process::{Command, Output};

use super::{llmspell, write};

fn llmspell_env(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llmspell"))
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The line of `config show` for `key`.
fn shown<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no `{key}` in\n{out}"))
}

const EVERY_SECTION: &str = r#"
[tools]
file_roots = ["data"]
max_file_bytes = 1000
allowed_programs = ["ls"]
process_timeout_ms = 2000
max_output_bytes = 4096
allowed_env = ["MY_TOKEN"]
allowed_hosts = ["127.0.0.2"]
allow_any_host = false
service_timeout_ms = 3000

[providers.openai]
base_url = "http://127.0.0.1:1/v1"
api_key_env = "MY_OPENAI_KEY"

[store]
events = "memory"
state = "memory"

[limits]
memory_mib = 64
script_timeout_secs = 30.0
hook_timeout_ms = 1000

[pricing]
defaults = false
[pricing.models."test-model"]
input_per_million = 1.0
output_per_million = 2.0

[telemetry]
service_name = "my-service"

[hooks.builtin.rate_limit]
per_minute = 10
points = ["BeforeToolExecution"]

[[hooks.command]]
point = "BeforeToolExecution"
matcher = "file_.*"
command = "true"
"#;

#[test]
fn every_section_loads_and_show_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    write(dir.path(), "llmspell.toml", EVERY_SECTION);
    let out = llmspell(&["config", "show"], dir.path());
    assert!(out.status.success(), "{out:?}");
    let s = text(&out.stdout);
    for (key, value) in [
        ("tools.file_roots", r#"["data"]"#),
        ("tools.max_file_bytes", "1000"),
        ("tools.allowed_programs", r#"["ls"]"#),
        ("tools.allowed_env", r#"["MY_TOKEN"]"#),
        ("tools.allowed_hosts", r#"["127.0.0.2"]"#),
        ("tools.service_timeout_ms", "3000"),
        ("providers.openai.base_url", r#""http://127.0.0.1:1/v1""#),
        ("store.events", r#""memory""#),
        ("limits.memory_mib", "64"),
        ("limits.hook_timeout_ms", "1000"),
        ("pricing.defaults", "false"),
        ("telemetry.service_name", r#""my-service""#),
    ] {
        let line = shown(&s, key);
        assert!(
            line.starts_with(&format!("{key} = {value}  # ")) && line.ends_with("llmspell.toml"),
            "{line}"
        );
    }
    assert!(
        shown(&s, "hooks.builtin.rate_limit").contains("per_minute = 10"),
        "{s}"
    );
    assert!(shown(&s, "hooks.command").contains("file_.*"), "{s}");
    assert!(
        shown(&s, "telemetry.otlp_endpoint").ends_with("# default"),
        "{s}"
    );
    // And a run with it works (memory stores, the hooks registered).
    write(
        dir.path(),
        "list.lua",
        "for _, h in ipairs(Hook.list()) do print(h.name, h.language, h.hook_point) end",
    );
    let out = llmspell(&["run", "list.lua"], dir.path());
    assert!(out.status.success(), "{out:?}");
    let s = text(&out.stdout);
    assert!(
        s.contains("command:true\tcommand\tBeforeToolExecution"),
        "{s}"
    );
    assert!(s.contains("rate_limit"), "{s}");
}

#[test]
fn environment_variables_override_the_file_and_show_says_so() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "llmspell.toml", "[limits]\nmemory_mib = 64\n");
    let out = llmspell_env(
        &["config", "show"],
        dir.path(),
        &[
            ("LLMSPELL_LIMITS__MEMORY_MIB", "128"),
            ("LLMSPELL_TOOLS__ALLOWED_PROGRAMS", r#"["git", "ls"]"#),
            ("LLMSPELL_LOG", "warn"),
            ("LLMSPELL_SOMETHING_ELSE", "x"),
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let s = text(&out.stdout);
    assert_eq!(
        shown(&s, "limits.memory_mib"),
        "limits.memory_mib = 128  # environment variable LLMSPELL_LIMITS__MEMORY_MIB"
    );
    assert_eq!(
        shown(&s, "tools.allowed_programs"),
        r#"tools.allowed_programs = ["git", "ls"]  # environment variable LLMSPELL_TOOLS__ALLOWED_PROGRAMS"#
    );
    assert!(shown(&s, "store.events").ends_with("# default"));
}

#[test]
fn unknown_keys_are_errors_naming_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "llmspell.toml",
        "[tools]\nallowed_programz = [\"git\"]\n",
    );
    write(dir.path(), "ok.lua", "");
    for args in [&["config", "show"][..], &["run", "ok.lua"]] {
        let out = llmspell(args, dir.path());
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("unknown key `tools.allowed_programz`"),
            "{err}"
        );
        assert!(err.contains("allowed_programs"), "{err}");
        assert!(err.contains("llmspell.toml"), "{err}");
    }
    write(dir.path(), "llmspell.toml", "[toolz]\n");
    let err = text(&llmspell(&["config", "show"], dir.path()).stderr);
    assert!(
        err.contains("unknown key `toolz`") && err.contains("tools"),
        "{err}"
    );
    write(
        dir.path(),
        "llmspell.toml",
        "[hooks.builtin.rate_limit]\nper_secnd = 2\n",
    );
    let err = text(&llmspell(&["config", "show"], dir.path()).stderr);
    assert!(
        err.contains("hooks.builtin.rate_limit") && err.contains("`per_secnd`"),
        "{err}"
    );
    write(
        dir.path(),
        "llmspell.toml",
        "[[hooks.command]]\npoint = \"BeforeToolExecutin\"\ncommand = \"x\"\n",
    );
    let err = text(&llmspell(&["config", "show"], dir.path()).stderr);
    assert!(
        err.contains("hooks.command[0]") && err.contains("BeforeToolExecutin"),
        "{err}"
    );
    write(
        dir.path(),
        "llmspell.toml",
        "[limits]\nmemory_mib = \"lots\"\n",
    );
    let err = text(&llmspell(&["config", "show"], dir.path()).stderr);
    assert!(err.contains("limits.memory_mib"), "{err}");
    // From the environment: the variable is named.
    std::fs::remove_file(dir.path().join("llmspell.toml")).unwrap();
    let out = llmspell_env(
        &["config", "show"],
        dir.path(),
        &[("LLMSPELL_TOOLS__FOO", "1")],
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("unknown key `tools.foo`") && err.contains("LLMSPELL_TOOLS__FOO"),
        "{err}"
    );
    // --config names a file that must exist.
    let out = llmspell(&["--config", "nope.toml", "config", "show"], dir.path());
    assert!(text(&out.stderr).contains("`nope.toml`"), "{out:?}");
}

#[test]
fn config_init_writes_a_file_that_loads_to_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let out = llmspell(&["config", "init"], dir.path());
    assert!(out.status.success(), "{out:?}");
    let written = std::fs::read_to_string(dir.path().join("llmspell.toml")).unwrap();
    assert_eq!(written, llmspell_cli::config::DEFAULT_FILE);
    let out = llmspell(&["config", "init"], dir.path());
    assert!(text(&out.stderr).contains("--force"), "{out:?}");
    assert!(llmspell(&["config", "init", "--force"], dir.path())
        .status
        .success());
    let with = text(&llmspell(&["config", "show"], dir.path()).stdout);
    std::fs::remove_file(dir.path().join("llmspell.toml")).unwrap();
    let without = text(&llmspell(&["config", "show"], dir.path()).stdout);
    let values = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split("  # ").next().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(values(&with), values(&without));
}

/// Runs `script` with `flags` in `dir`; (success, stdout + stderr).
fn run(dir: &Path, script: &str, flags: &[&str]) -> (bool, String) {
    write(dir, "t.lua", script);
    let mut args = vec!["run", "--store", "memory", "--state-store", "memory"];
    args.extend_from_slice(flags);
    args.push("t.lua");
    let out = llmspell_env(&args, dir, &[("MY_SECRET_TOKEN", "abc")]);
    (out.status.success(), text(&out.stdout) + &text(&out.stderr))
}

#[test]
fn allow_dir_enables_that_directory_only() {
    let dir = tempfile::tempdir().unwrap();
    for d in ["a", "b"] {
        std::fs::create_dir(dir.path().join(d)).unwrap();
        write(&dir.path().join(d), "f.txt", d);
    }
    let read = |p: &str| {
        format!(
            "print(Tool.invoke('file_operations', {{operation = 'read', path = '{p}'}}).content)"
        )
    };
    let a = dir.path().join("a/f.txt").display().to_string();
    let b = dir.path().join("b/f.txt").display().to_string();
    let (ok, out) = run(dir.path(), &read(&a), &[]);
    assert!(
        !ok && out.contains("--allow-dir") && out.contains("file_roots"),
        "{out}"
    );
    let (ok, out) = run(dir.path(), &read(&a), &["--allow-dir", "a"]);
    assert!(ok && out.starts_with("a\n"), "{out}");
    let (ok, out) = run(dir.path(), &read(&b), &["--allow-dir", "a"]);
    assert!(!ok && out.contains("--allow-dir"), "{out}");
}

#[test]
fn allow_program_enables_that_program_only() {
    let dir = tempfile::tempdir().unwrap();
    let exec = |p: &str| {
        format!("print(Tool.invoke('process_executor', {{program = '{p}', args = {{'{}'}}}}).exit_code)", dir.path().display())
    };
    let (ok, out) = run(dir.path(), &exec("ls"), &[]);
    assert!(
        !ok && out.contains("--allow-program") && out.contains("allowed_programs"),
        "{out}"
    );
    let (ok, out) = run(dir.path(), &exec("ls"), &["--allow-program", "ls"]);
    assert!(ok && out.starts_with("0\n"), "{out}");
    let (ok, out) = run(dir.path(), &exec("cat"), &["--allow-program", "ls"]);
    assert!(!ok && out.contains("--allow-program"), "{out}");
}

#[test]
fn allow_env_enables_that_variable_only() {
    let dir = tempfile::tempdir().unwrap();
    let get = |n: &str| {
        format!(
            "print(Tool.invoke('environment_reader', {{operation = 'get', name = '{n}'}}).value)"
        )
    };
    let (ok, out) = run(dir.path(), &get("MY_SECRET_TOKEN"), &[]);
    assert!(
        !ok && out.contains("--allow-env") && out.contains("allowed_env"),
        "{out}"
    );
    let (ok, out) = run(
        dir.path(),
        &get("MY_SECRET_TOKEN"),
        &["--allow-env", "MY_SECRET_TOKEN"],
    );
    assert!(ok && out.starts_with("abc\n"), "{out}");
    let (ok, out) = run(
        dir.path(),
        &get("MY_SECRET_TOKEN"),
        &["--allow-env", "OTHER_TOKEN"],
    );
    assert!(!ok && out.contains("--allow-env"), "{out}");
}

#[test]
fn allow_host_enables_that_host_only() {
    let dir = tempfile::tempdir().unwrap();
    // A closed loopback port: allowed, the check runs and finds it closed.
    let check = |h: &str| {
        format!("local r = Tool.invoke('service_checker', {{host = '{h}', port = 9, timeout_ms = 500}}); print(r.reachable)")
    };
    let (ok, out) = run(dir.path(), &check("127.0.0.2"), &[]);
    assert!(
        !ok && out.contains("--allow-host") && out.contains("allowed_hosts"),
        "{out}"
    );
    let (ok, out) = run(
        dir.path(),
        &check("127.0.0.2"),
        &["--allow-host", "127.0.0.2"],
    );
    assert!(ok && out.starts_with("false\n"), "{out}");
    let (ok, out) = run(
        dir.path(),
        &check("127.0.0.3"),
        &["--allow-host", "127.0.0.2"],
    );
    assert!(!ok && out.contains("--allow-host"), "{out}");
}

#[test]
fn builtins_from_the_config_have_their_real_effect() {
    let dir = tempfile::tempdir().unwrap();
    let calc = "local function calc(e) return Tool.invoke('calculator', {expression = e}) end\n";
    // A rate limit that refuses.
    write(
        dir.path(),
        "llmspell.toml",
        "[hooks.builtin.rate_limit]\nper_minute = 2\nburst = 2\npoints = [\"BeforeToolExecution\"]\nmatch = \"calculator\"\n",
    );
    let (ok, out) = run(
        dir.path(),
        &format!("{calc}calc('1+1') calc('1+1') local ok, e = pcall(calc, '1+1') assert(not ok) print(e)"),
        &[],
    );
    assert!(ok && out.contains("rate limit"), "{out}");
    // A cache that hits.
    write(
        dir.path(),
        "llmspell.toml",
        "[hooks.builtin.caching]\nttl_ms = 60000\nmatch = \"calculator\"\n",
    );
    let (ok, out) = run(
        dir.path(),
        &format!(
            "{calc}local runs = 0\n\
             Hook.register('AfterToolExecution', function() runs = runs + 1 end)\n\
             calc('6*7') calc('6*7') print(runs)"
        ),
        &[],
    );
    assert!(
        ok && out.starts_with("1\n"),
        "the second call was a cache hit: {out}"
    );
    // A cost budget that blocks, priced from [pricing].
    write(
        dir.path(),
        "llmspell.toml",
        "[pricing]\ndefaults = false\n[pricing.models.\"test-model\"]\ninput_per_million = 1000000.0\noutput_per_million = 0.0\n\
         [hooks.builtin.cost_tracking]\nbudgets = [{ scope = \"global\", limit = 2.0 }]\nmatch = \"calculator\"\n",
    );
    let (ok, out) = run(
        dir.path(),
        &format!(
            "{calc}Hook.register('AfterToolExecution', function(ctx)\n\
               return {{type = 'modified', data = {{tool_name = ctx.data.tool_name, result = ctx.data.result,\n\
                 ['gen_ai.request.model'] = 'test-model', ['gen_ai.usage.input_tokens'] = 1}}}}\n\
             end, 'highest')\n\
             calc('1') calc('1') local ok, e = pcall(calc, '1') assert(not ok) print(e)"
        ),
        &[],
    );
    assert!(ok && out.contains("budget"), "{out}");
}
