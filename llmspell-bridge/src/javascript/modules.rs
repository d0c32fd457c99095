//! ES module loading: `import` of files under the running script's
//! directory, and nothing else.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use boa_engine::module::{ModuleLoader, ModuleRequest, Referrer};
use boa_engine::{Context, JsNativeError, JsResult, Module, Source};

/// Loads `./x.js` / `../x.js` imports that resolve inside the root (the
/// directory of the script that runs); refuses bare specifiers (packages,
/// `node:` modules), URLs, absolute paths, paths that leave the root
/// (also through a symbolic link) and files that are not `.js` / `.mjs`.
#[derive(Debug, Default)]
pub(super) struct SiblingLoader {
    root: RefCell<Option<PathBuf>>,
    modules: RefCell<HashMap<PathBuf, Module>>,
}

fn refused(message: String) -> boa_engine::JsError {
    JsNativeError::typ().with_message(message).into()
}

impl SiblingLoader {
    /// Imports resolve under `dir` from now on (`None`: imports refused).
    pub(super) fn set_root(&self, dir: Option<PathBuf>) {
        let dir = dir.and_then(|d| d.canonicalize().ok());
        *self.root.borrow_mut() = dir;
    }

    fn resolve(&self, referrer: &Referrer, specifier: &str) -> JsResult<PathBuf> {
        let Some(root) = self.root.borrow().clone() else {
            return Err(refused(format!(
                "import \"{specifier}\" is refused: this script has no directory to import from (run it from a file)"
            )));
        };
        if !(specifier.starts_with("./") || specifier.starts_with("../")) {
            return Err(refused(format!(
                "import \"{specifier}\" is refused: only relative imports of files under the script's directory (\"./name.js\") are allowed; the sandbox has no packages, URLs or node: modules"
            )));
        }
        let base = referrer
            .path()
            .and_then(Path::parent)
            .map_or_else(|| root.clone(), Path::to_path_buf);
        let mut path = PathBuf::new();
        for c in base.join(specifier).components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    path.pop();
                }
                other => path.push(other),
            }
        }
        let outside = || {
            refused(format!(
                "import \"{specifier}\" is refused: it resolves outside the script's directory {}",
                root.display()
            ))
        };
        if !path.starts_with(&root) {
            return Err(outside());
        }
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("js" | "mjs")
        ) {
            return Err(refused(format!(
                "import \"{specifier}\" is refused: only .js and .mjs files are modules"
            )));
        }
        let real = path.canonicalize().map_err(|e| {
            refused(format!(
                "import \"{specifier}\": cannot read {}: {e}",
                path.display()
            ))
        })?;
        if !real.starts_with(&root) {
            return Err(outside());
        }
        Ok(real)
    }

    fn load(
        &self,
        referrer: &Referrer,
        request: &ModuleRequest,
        context: &mut Context,
    ) -> JsResult<Module> {
        let specifier = request.specifier().to_std_string_escaped();
        let path = self.resolve(referrer, &specifier)?;
        if let Some(m) = self.modules.borrow().get(&path) {
            return Ok(m.clone());
        }
        let text = std::fs::read(&path).map_err(|e| {
            refused(format!(
                "import \"{specifier}\": cannot read {}: {e}",
                path.display()
            ))
        })?;
        let module = Module::parse(Source::from_bytes(&text).with_path(&path), None, context)?;
        self.modules.borrow_mut().insert(path, module.clone());
        Ok(module)
    }
}

impl ModuleLoader for SiblingLoader {
    fn load_imported_module(
        self: Rc<Self>,
        referrer: Referrer,
        request: ModuleRequest,
        context: &RefCell<&mut Context>,
    ) -> impl std::future::Future<Output = JsResult<Module>> {
        let result = self.load(&referrer, &request, &mut context.borrow_mut());
        std::future::ready(result)
    }
}
