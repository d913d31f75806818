//! The crate's layers, checked (docs/architecture.md draws them). Each layer is a folder of
//! `src/` and holds the modules [`LAYERS`] gives it (`lib.rs` re-exports every module at its
//! short path, `crate::model`, which is how the code names them). A module may import
//! (`crate::…`, `super::…`) modules of its own layer or of the layers below, never above, and
//! no import may come back round to where it started: not between the crate's top modules,
//! and not between the files of one module (a module's `mod.rs` is its front door: its files
//! use it and it names them, which is not a circle). The test reads the source, comments and
//! the closing `#[cfg(test)] mod` left out.

/// Bottom to top: each layer (its folder) and its top modules.
pub const LAYERS: &[(&str, &[&str])] = &[
    // Needs nothing of the crate.
    ("foundation", &["error", "clock", "private_fs", "telemetry"]),
    // The rules: the model and its checks, secrets, reading request fields, the query engine,
    // the shape of change events.
    ("domain", &["secrets", "otp", "model", "input", "query", "events"]),
    // The ports and what plugs into them: storage (redb, DynamoDB), mail (outbox, SES), work
    // handed over (local queue, SQS), tokens (keys, JWKS, KMS), the AWS SDK's configuration.
    ("ports", &["store", "mail", "deferred", "auth", "aws", "vault"]),
    // The API's request messages and their proto3 JSON mapping: what a request may hold.
    ("contract", &["proto3"]),
    // The process (App), the operations with their descriptions, provisioning commands.
    ("application", &["app", "ops", "provision"]),
    // What faces a client: the HTTP handler every binary runs, the OpenAPI document.
    ("edge", &["http", "openapi"]),
];

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    use super::LAYERS;

    fn is_layer(folder: &str) -> bool {
        LAYERS.iter().any(|(name, _)| *name == folder)
    }

    /// Every module of `src/` (`a::b` for `src/a/b.rs` or `src/a/b/mod.rs`) with its source,
    /// comments and test code left out.
    fn modules() -> BTreeMap<String, String> {
        fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
            for entry in std::fs::read_dir(dir).expect("src").flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().to_string();
                if path.is_dir() {
                    walk(&path, &format!("{prefix}{name}::"), out);
                } else if let Some(stem) = name.strip_suffix(".rs") {
                    let module = match stem {
                        "mod" | "lib" => prefix.trim_end_matches("::").to_string(),
                        _ => format!("{prefix}{stem}"),
                    };
                    let text = std::fs::read_to_string(&path).expect("source");
                    // The test module (`#[cfg(test)] mod …`) closes a file, by this crate's habit.
                    let code = text.split("#[cfg(test)]\nmod ").next().unwrap_or_default();
                    let code: Vec<&str> = code.lines().map(|l| l.split("//").next().unwrap_or_default()).collect();
                    out.insert(module, code.join("\n"));
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), "", &mut out);
        // A layer's folder is not a module of its own: its modules keep their short names (the
        // names `lib.rs` re-exports them by, and every `crate::…` path uses). Each must be in
        // its own layer's folder.
        out.into_iter()
            .filter(|(module, _)| !is_layer(module))
            .map(|(module, code)| match module.split_once("::") {
                Some((folder, rest)) if is_layer(folder) => {
                    let short = rest.to_string();
                    let top = short.split("::").next().unwrap_or_default();
                    let expected = LAYERS
                        .iter()
                        .find(|(_, modules)| modules.contains(&top))
                        .map(|(name, _)| *name);
                    assert_eq!(
                        expected,
                        Some(folder),
                        "src/{folder}/{rest}: not the folder of its layer"
                    );
                    (short, code)
                }
                _ => (module, code),
            })
            .collect()
    }

    /// The modules `module` imports: `crate::a::b::…` and `super::…` paths, each taken as the
    /// longest module it names.
    fn imports(module: &str, code: &str, all: &BTreeMap<String, String>) -> BTreeSet<String> {
        let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
        let mut out = BTreeSet::new();
        let words: Vec<&str> = code
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .collect();
        for word in words {
            let path = if let Some(rest) = word.strip_prefix("crate::") {
                rest.to_string()
            } else if let Some(rest) = word.strip_prefix("super::") {
                if parent.is_empty() {
                    rest.to_string()
                } else {
                    format!("{parent}::{rest}")
                }
            } else {
                continue;
            };
            let parts: Vec<&str> = path.split("::").collect();
            if let Some(target) = (1..=parts.len())
                .rev()
                .map(|n| parts[..n].join("::"))
                .find(|candidate| all.contains_key(candidate))
                && target != module
            {
                out.insert(target);
            }
        }
        out
    }

    fn top(module: &str) -> &str {
        module.split("::").next().unwrap_or(module)
    }

    fn layer_of(module: &str) -> Option<usize> {
        LAYERS.iter().position(|(_, modules)| modules.contains(&top(module)))
    }

    /// A circle in `edges`, if there is one (depth-first search).
    fn circle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
        fn visit(
            node: &str,
            edges: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(start) = path.iter().position(|n| n == node) {
                let mut found = path[start..].to_vec();
                found.push(node.to_string());
                return Some(found);
            }
            if done.contains(node) {
                return None;
            }
            path.push(node.to_string());
            for next in edges.get(node).into_iter().flatten() {
                if let Some(found) = visit(next, edges, path, done) {
                    return Some(found);
                }
            }
            path.pop();
            done.insert(node.to_string());
            None
        }
        let mut done = BTreeSet::new();
        edges
            .keys()
            .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
    }

    /// The import edges the rule is about: between top modules, and between the files of one
    /// module other than its front door.
    fn edges(all: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (module, code) in all {
            for target in imports(module, code, all) {
                if top(module) != top(&target) {
                    edges
                        .entry(top(module).to_string())
                        .or_default()
                        .insert(top(&target).to_string());
                } else if !target.is_empty()
                    && !module.starts_with(&format!("{target}::"))
                    && !target.starts_with(&format!("{module}::"))
                {
                    edges.entry(module.clone()).or_default().insert(target);
                }
            }
        }
        edges
    }

    #[test]
    fn every_module_has_a_layer_and_imports_only_its_own_or_lower_ones() {
        let all = modules();
        let mut wrong = Vec::new();
        for (module, code) in &all {
            if module.is_empty() || module == "layers" {
                continue;
            }
            let Some(own) = layer_of(module) else {
                wrong.push(format!("{module} has no layer in LAYERS"));
                continue;
            };
            for target in imports(module, code, &all) {
                match layer_of(&target) {
                    Some(theirs) if theirs > own => wrong.push(format!(
                        "{module} ({}) imports {target} ({}), a layer above",
                        LAYERS[own].0, LAYERS[theirs].0
                    )),
                    _ => {}
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn no_import_comes_back_round() {
        let all = modules();
        let edges = edges(&all);
        assert!(edges.len() > 15, "the source was not read: {edges:?}");
        if let Some(found) = circle(&edges) {
            panic!("import circle: {}", found.join(" → "));
        }
    }

    /// The checks themselves: an upward import and a circle are found.
    #[test]
    fn the_checks_find_an_upward_import_and_a_circle() {
        let mut all = BTreeMap::new();
        all.insert("model".to_string(), "use crate::ops::Served;".to_string());
        all.insert("ops".to_string(), "use crate::model::User;".to_string());
        all.insert(
            "ops::get".to_string(),
            "use super::list::x; use crate::error::E;".to_string(),
        );
        all.insert("ops::list".to_string(), "use super::get::y;".to_string());
        all.insert("error".to_string(), String::new());
        assert!(imports("model", &all["model"], &all).contains("ops"));
        assert!(layer_of("ops") > layer_of("model"));
        let mut edges = edges(&all);
        assert!(circle(&edges).is_some());
        edges.remove("model");
        let found = circle(&edges).expect("the files' circle");
        assert!(found.contains(&"ops::get".to_string()), "{found:?}");
    }
}
