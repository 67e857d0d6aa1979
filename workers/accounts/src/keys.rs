//! ES256 signing keys of the accounts worker: it signs access tokens with the newest of its
//! P-256 keys and publishes all of them as a JWKS, so tokens signed by a key being retired
//! still verify. The JWT handling is the `jsonwebtoken` crate's.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chorus_protocol::token::{Claims, Jwk, Jwks};
use chorus_runtime::clock::unix_now;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use std::path::{Path, PathBuf};

/// Why keys could not be loaded or a token not made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key file is not a PKCS#8 P-256 key.
    #[error("key file {0} is not a PKCS#8 P-256 private key")]
    BadKey(PathBuf),
    /// No key to sign with.
    #[error("no signing key in {0} (set CHORUS_GENERATE_KEY=true to create one)")]
    NoKey(PathBuf),
    /// Signing failed.
    #[error("signing: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// One signing key.
struct SigningKey {
    /// RFC 7638 thumbprint of its public key.
    kid: String,
    /// The private key, for signing.
    encoding: EncodingKey,
    /// The public half, for the JWKS.
    jwk: Jwk,
}

/// The accounts worker's keys: sign with the newest, publish all.
pub struct SigningKeys {
    /// Oldest first; the last one signs.
    keys: Vec<SigningKey>,
}

impl SigningKeys {
    /// Loads every `*.p8` (PKCS#8 DER) file in `dir`, ordered by file name (name them so
    /// that the newest sorts last, e.g. by date). With `generate` and no key there, creates
    /// one first.
    pub fn load_dir(dir: &Path, generate: bool) -> Result<SigningKeys, KeyError> {
        let io = |source| KeyError::Io {
            path: dir.to_path_buf(),
            source,
        };
        if generate {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "p8"))
                .collect(),
            Err(_) if generate => Vec::new(),
            Err(e) => return Err(io(e)),
        };
        if files.is_empty() && generate {
            let path = dir.join(format!("{}.p8", unix_now()));
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| KeyError::BadKey(path.clone()))?;
            write_private(&path, pkcs8.as_ref()).map_err(|source| KeyError::Io {
                path: path.clone(),
                source,
            })?;
            tracing::info!(path = %path.display(), "generated a signing key");
            files.push(path);
        }
        files.sort();
        let mut keys = Vec::new();
        for path in files {
            let der = std::fs::read(&path).map_err(|source| KeyError::Io {
                path: path.clone(),
                source,
            })?;
            keys.push(SigningKey::from_pkcs8(&der).ok_or(KeyError::BadKey(path))?);
        }
        if keys.is_empty() {
            return Err(KeyError::NoKey(dir.to_path_buf()));
        }
        Ok(SigningKeys { keys })
    }

    /// One fresh key, held in memory only (for tests and embedding: tokens it signed die
    /// with the process).
    pub fn generate() -> SigningKeys {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .expect("the system RNG works");
        SigningKeys::from_pkcs8(&[pkcs8.as_ref()]).expect("a fresh P-256 key")
    }

    /// Keys from PKCS#8 DER blobs, oldest first (for tests and embedding).
    pub fn from_pkcs8(blobs: &[&[u8]]) -> Option<SigningKeys> {
        let keys = blobs
            .iter()
            .map(|der| SigningKey::from_pkcs8(der))
            .collect::<Option<Vec<_>>>()?;
        (!keys.is_empty()).then_some(SigningKeys { keys })
    }

    /// A signed token for `claims`, by the newest key.
    pub fn sign(&self, claims: &Claims) -> Result<String, KeyError> {
        let key = self.keys.last().expect("never empty");
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &key.encoding)?)
    }

    /// Every public key.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self.keys.iter().map(|k| k.jwk.clone()).collect(),
        }
    }
}

impl SigningKey {
    fn from_pkcs8(der: &[u8]) -> Option<SigningKey> {
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &SystemRandom::new()).ok()?;
        let point = pair.public_key().as_ref();
        // Uncompressed point: 0x04 || x (32 bytes) || y (32 bytes).
        if point.len() != 65 || point[0] != 4 {
            return None;
        }
        let (x, y) = (
            URL_SAFE_NO_PAD.encode(&point[1..33]),
            URL_SAFE_NO_PAD.encode(&point[33..]),
        );
        // RFC 7638: the thumbprint of the required members, in lexicographic order.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()));
        let jwk = Jwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            x,
            y,
            kid: kid.clone(),
            alg: "ES256".into(),
            use_: "sig".into(),
        };
        Some(SigningKey {
            kid,
            encoding: EncodingKey::from_ec_der(der),
            jwk,
        })
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}
