//! Build script: records the commit the binary was built from, for `/status`.
//!
//! `TESSERA_BUILD_SHA` wins when set (the container build passes it, as its context has no
//! `.git`); otherwise `git rev-parse HEAD` of the source tree; otherwise "unknown".

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn main() {
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
}
