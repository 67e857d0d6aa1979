//! Which `nats-server` binary the tests run.
//!
//! Chorus needs nats-server 2.10 or newer (Debian 12 ships 2.9). `scripts/install-tools`
//! puts a current one in `<workspace>/.tools/venv/bin/`, which is preferred over whatever
//! is on `PATH`. The machine's own server on :4222 is never used: every test starts its own.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Environment variable naming the nats-server binary to use, overriding every other choice.
pub const NATS_SERVER_ENV: &str = "CHORUS_NATS_SERVER";

/// Oldest supported nats-server, as (major, minor).
pub const MIN_VERSION: (u32, u32) = (2, 10);

/// The nats-server binary tests should run.
///
/// Lookup order: env `CHORUS_NATS_SERVER`; else `<workspace>/.tools/venv/bin/nats-server`;
/// else `nats-server` on `PATH`, which must report version 2.10 or newer.
///
/// # Panics
/// When none is found, or the one on `PATH` is too old, with a message that says to run
/// `scripts/test` or `scripts/install-tools`.
pub fn nats_server_bin() -> PathBuf {
    if let Some(path) = std::env::var_os(NATS_SERVER_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let tools = workspace_root().join(".tools/venv/bin/nats-server");
    if tools.is_file() {
        return tools;
    }
    let Some(on_path) = find_on_path("nats-server") else {
        panic!(
            "no nats-server found (looked at ${NATS_SERVER_ENV}, {}, and PATH): \
             run scripts/test or scripts/install-tools",
            tools.display()
        );
    };
    match version_of(&on_path) {
        Some(v) if v >= MIN_VERSION => on_path,
        found => panic!(
            "{} is version {}, but Chorus needs nats-server >= {}.{}: \
             run scripts/test or scripts/install-tools (or set ${NATS_SERVER_ENV})",
            on_path.display(),
            found.map_or_else(|| "unknown".to_string(), |(a, b)| format!("{a}.{b}")),
            MIN_VERSION.0,
            MIN_VERSION.1
        ),
    }
}

/// The workspace root: the parent of this crate's directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit lives inside the workspace")
        .to_path_buf()
}

/// `(major, minor)` from `BIN --version` (prints e.g. `nats-server: v2.15.1`).
pub fn version_of(bin: &Path) -> Option<(u32, u32)> {
    let out = Command::new(bin).arg("--version").output().ok()?;
    parse_version(&String::from_utf8_lossy(&out.stdout))
}

/// Finds `major.minor` in a version banner such as `nats-server: v2.9.10`.
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let mut parts = text[start..].split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// The first executable file called `name` in a `PATH` directory.
fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::parse_version;

    #[test]
    fn parses_banners() {
        assert_eq!(parse_version("nats-server: v2.9.10\n"), Some((2, 9)));
        assert_eq!(parse_version("nats-server: v2.15.1"), Some((2, 15)));
        assert_eq!(parse_version("garbage"), None);
    }
}
