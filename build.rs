//! Build script: records the commit the binary was built from, for `/status`, and builds
//! the web console (`web/`) into `$OUT_DIR/console`, which the binary embeds.
//!
//! `TESSERA_BUILD_SHA` wins when set (the container build passes it, as its context has no
//! `.git`); otherwise `git rev-parse HEAD` of the source tree; otherwise "unknown".
//!
//! The console is built with `npm` (Node.js 20 or newer) when its inputs changed since the
//! last build (a hash of `web/`'s sources, stamped in `$OUT_DIR`), after `npm ci` when
//! `web/node_modules` is missing. Without Node, or with `TESSERA_CONSOLE=skip`, the binary
//! embeds a page that says how to build the console; the API works the same.
//! `TESSERA_CONSOLE_DIST=<dir>` embeds a console built elsewhere (the container build makes
//! it in a Node stage).

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn main() -> std::io::Result<()> {
    println!("cargo:rerun-if-env-changed=TESSERA_BUILD_SHA");
    let given = std::env::var("TESSERA_BUILD_SHA")
        .ok()
        .filter(|s| !s.trim().is_empty() && s != "dev");
    let sha = given
        .or_else(|| git(&["rev-parse", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    // Build again when HEAD moves: the file HEAD and the branch ref it names.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        let dir = Path::new(&dir);
        println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={}", dir.join(branch).display());
        }
        println!(
            "cargo:rerun-if-changed={}",
            dir.join("packed-refs").display()
        );
    }
    println!("cargo:rustc-env=TESSERA_BUILD_SHA={sha}");
    console()
}

/// The console's sources: what a change of triggers a new build.
const CONSOLE_INPUTS: &[&str] = &[
    "src",
    "public",
    "index.html",
    "graphiql.html",
    "../schema/schema.graphql",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
];

fn console() -> std::io::Result<()> {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    let out = std::env::var_os("OUT_DIR")
        .map(|d| PathBuf::from(d).join("console"))
        .ok_or_else(|| std::io::Error::other("OUT_DIR is not set"))?;
    println!("cargo:rerun-if-env-changed=TESSERA_CONSOLE");
    println!("cargo:rerun-if-env-changed=TESSERA_CONSOLE_DIST");
    if let Some(dist) = std::env::var_os("TESSERA_CONSOLE_DIST") {
        let dist = PathBuf::from(dist);
        println!("cargo:rerun-if-changed={}", dist.display());
        let _ = std::fs::remove_dir_all(&out);
        return copy_dir(&dist, &out);
    }
    for input in CONSOLE_INPUTS {
        println!("cargo:rerun-if-changed={}", web.join(input).display());
    }
    let skip = std::env::var("TESSERA_CONSOLE").is_ok_and(|v| v == "skip");
    let stamp = out.with_extension("stamp");
    let hash = format!("{:016x}", inputs_hash(&web));
    if !skip
        && out.join("index.html").is_file()
        && std::fs::read_to_string(&stamp).is_ok_and(|s| s == hash)
    {
        return Ok(());
    }
    let built = !skip && build_console(&web, &out);
    if built {
        let _ = std::fs::write(&stamp, &hash);
    } else {
        let _ = std::fs::remove_file(&stamp);
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out)?;
        std::fs::write(out.join("index.html"), FALLBACK_PAGE)?;
    }
    Ok(())
}

fn build_console(web: &Path, out: &Path) -> bool {
    let npm = |args: &[&str]| {
        Command::new("npm")
            .args(args)
            .current_dir(web)
            .env("TESSERA_CONSOLE_OUT", out)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !web.join("package.json").is_file() {
        return false;
    }
    if !web.join("node_modules").is_dir() && !npm(&["ci", "--no-audit", "--no-fund"]) {
        println!(
            "cargo:warning=the web console was not built: `npm ci` in web/ failed or Node.js 20+ is missing (the API works without it)"
        );
        return false;
    }
    if !npm(&["run", "--silent", "build", "--", "--logLevel", "warn"]) {
        println!("cargo:warning=the web console was not built: `npm run build` in web/ failed");
        return false;
    }
    out.join("index.html").is_file()
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// A hash of every console input's path and content.
fn inputs_hash(web: &Path) -> u64 {
    fn visit(path: &Path, h: &mut std::collections::hash_map::DefaultHasher) {
        if path.is_dir() {
            let mut entries: Vec<_> = std::fs::read_dir(path)
                .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
                .unwrap_or_default();
            entries.sort();
            for e in entries {
                visit(&e, h);
            }
        } else if let Ok(bytes) = std::fs::read(path) {
            path.hash(h);
            bytes.hash(h);
        }
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for input in CONSOLE_INPUTS {
        visit(&web.join(input), &mut h);
    }
    h.finish()
}

const FALLBACK_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tessera</title></head>
<body>
<main>
<h1>Tessera is running</h1>
<p>This binary was built without its web console: building it needs Node.js 20 or newer
(and <code>npm</code>) on the build machine. Install Node.js, then build again
(<code>cargo run -- serve --demo</code>); the console is built and embedded automatically.</p>
<p>The API works without it: <code>POST /graphql</code>, <code>POST /w/&lt;slug&gt;/graphql</code>.</p>
</main>
</body>
</html>
"#;
