//! The optional `CHORUS_CONFIG` file: `KEY=value` lines copied into the environment before
//! flags are parsed, so every binary reads one list of settings and the environment wins.

/// Why the `CHORUS_CONFIG` file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// It could not be read.
    #[error("reading CHORUS_CONFIG {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not `KEY=value`.
    #[error("CHORUS_CONFIG {path}: {source}")]
    Parse {
        /// The path.
        path: String,
        /// Where.
        source: chorus_protocol::envfile::EnvFileError,
    },
}

/// Copies `KEY=value` pairs from the `CHORUS_CONFIG` file into the environment, without
/// overriding variables already set, so clap sees one list of settings.
///
/// Call it first thing in `main`, before any thread (the async runtime) exists: it sets
/// environment variables.
pub fn load_config_file() -> Result<(), ConfigFileError> {
    let Ok(path) = std::env::var("CHORUS_CONFIG") else {
        return Ok(());
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigFileError::Read {
        path: path.clone(),
        source,
    })?;
    let pairs =
        chorus_protocol::envfile::parse(&text).map_err(|source| ConfigFileError::Parse { path, source })?;
    for (key, value) in pairs {
        if std::env::var_os(&key).is_none() {
            // SAFETY: documented precondition: no other thread exists yet.
            unsafe { std::env::set_var(key, value) };
        }
    }
    Ok(())
}
