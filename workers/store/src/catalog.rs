//! The catalog: the goods on sale, read once from a JSON file at start
//! (`CHORUS_STORE_CATALOG`). A catalog that is wrong in any way (a price that is negative
//! or not a whole number, a duplicate id, an unknown field) is refused as a whole, with the
//! file and the reason, so the worker never starts selling from half a catalog.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Longest good id, kind or name, in characters.
const MAX_TEXT: usize = 64;

/// One good on sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Good {
    /// Stable id, named by purchases and the ledger (`[A-Za-z0-9_-]`, 1–64).
    pub id: String,
    /// What players see.
    pub name: String,
    /// Price in coins, 0 or more.
    pub price: i64,
    /// What it is for (`skin`, `emote`, …): games ask for the goods of a kind.
    pub kind: String,
    /// Most a user may own at once; none means no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// The goods on sale, by id, in file order.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// In the order of the file, as `svc.store.catalog` lists them.
    goods: Vec<Good>,
    /// Index into `goods` by id.
    by_id: HashMap<String, usize>,
}

/// Why a catalog file was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file could not be read.
    #[error("catalog {file}: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid catalog.
    #[error("catalog {file}: {reason}")]
    Invalid {
        /// The file.
        file: PathBuf,
        /// What is wrong, with the good's id or the line where it can be told.
        reason: String,
    },
}

/// The file's shape: `{"goods": [...]}`, nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    goods: Vec<RawGood>,
}

/// A good as written: the price kept as a JSON number so that `1.5` gets a clear refusal.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGood {
    id: String,
    name: String,
    price: serde_json::Number,
    kind: String,
    #[serde(default)]
    limit: Option<serde_json::Number>,
}

impl Catalog {
    /// Reads and checks the catalog in `file`.
    pub fn load(file: &Path) -> Result<Catalog, CatalogError> {
        let text = std::fs::read_to_string(file).map_err(|source| CatalogError::Read {
            file: file.to_path_buf(),
            source,
        })?;
        Catalog::parse(&text).map_err(|reason| CatalogError::Invalid {
            file: file.to_path_buf(),
            reason,
        })
    }

    /// Checks a catalog's text; the error is the reason it is refused.
    pub fn parse(text: &str) -> Result<Catalog, String> {
        let file: File = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut catalog = Catalog::default();
        for raw in file.goods {
            let good = raw.check()?;
            if catalog.by_id.contains_key(&good.id) {
                return Err(format!("duplicate id `{}`", good.id));
            }
            catalog.by_id.insert(good.id.clone(), catalog.goods.len());
            catalog.goods.push(good);
        }
        Ok(catalog)
    }

    /// The good `id`, if on sale.
    pub fn get(&self, id: &str) -> Option<&Good> {
        self.by_id.get(id).map(|&i| &self.goods[i])
    }

    /// Every good, in file order.
    pub fn goods(&self) -> &[Good] {
        &self.goods
    }
}

impl RawGood {
    fn check(self) -> Result<Good, String> {
        let id_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= MAX_TEXT
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if !id_ok(&self.id) {
            return Err(format!(
                "id `{}` must be 1-64 characters of A-Z, a-z, 0-9, _ and -",
                self.id
            ));
        }
        if !id_ok(&self.kind) {
            return Err(format!(
                "kind of `{}` must be 1-64 characters of A-Z, a-z, 0-9, _ and -",
                self.id
            ));
        }
        let name_len = self.name.trim().chars().count();
        if name_len == 0 || name_len > MAX_TEXT {
            return Err(format!("name of `{}` must be 1-64 characters", self.id));
        }
        let price = whole(&self.price).ok_or_else(|| {
            format!(
                "price of `{}` must be a whole number of coins, not {}",
                self.id, self.price
            )
        })?;
        if price < 0 {
            return Err(format!("price of `{}` is negative ({price})", self.id));
        }
        let limit = match &self.limit {
            None => None,
            Some(n) => match whole(n) {
                Some(l) if l >= 1 => Some(l),
                _ => {
                    return Err(format!(
                        "limit of `{}` must be a whole number, 1 or more, not {n}",
                        self.id
                    ));
                }
            },
        };
        Ok(Good {
            id: self.id,
            name: self.name,
            price,
            kind: self.kind,
            limit,
        })
    }
}

/// `n` as an `i64`, when it is a whole number that fits.
fn whole(n: &serde_json::Number) -> Option<i64> {
    n.as_i64()
}

#[cfg(test)]
mod tests {
    use super::Catalog;

    fn refused(text: &str) -> String {
        Catalog::parse(text).expect_err("refused")
    }

    #[test]
    fn a_good_catalog_keeps_its_order_and_limits() {
        let c = Catalog::parse(
            r#"{"goods":[{"id":"b","name":"B","price":0,"kind":"skin","limit":1},
                         {"id":"a","name":"A","price":7,"kind":"emote"}]}"#,
        )
        .unwrap();
        let ids: Vec<&str> = c.goods().iter().map(|g| g.id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
        assert_eq!(c.get("b").unwrap().limit, Some(1));
        assert_eq!(c.get("a").unwrap().limit, None);
        assert!(c.get("c").is_none());
    }

    #[test]
    fn bad_catalogs_say_why() {
        let good = |extra: &str| format!(r#"{{"goods":[{{"id":"x","name":"X","kind":"skin",{extra}}}]}}"#);
        assert!(refused(&good(r#""price":-1"#)).contains("price of `x` is negative"));
        assert!(refused(&good(r#""price":1.5"#)).contains("whole number"));
        assert!(refused(&good(r#""price":"3""#)).contains("invalid type"));
        assert!(refused(&good(r#""price":1,"colour":"red""#)).contains("unknown field `colour`"));
        assert!(refused(&good(r#""price":1,"limit":0"#)).contains("limit of `x`"));
        assert!(refused(r#"{"goods":[],"extra":1}"#).contains("unknown field `extra`"));
        let dup = r#"{"goods":[{"id":"x","name":"X","price":1,"kind":"skin"},
                              {"id":"x","name":"Y","price":2,"kind":"skin"}]}"#;
        assert!(refused(dup).contains("duplicate id `x`"));
        assert!(
            refused(r#"{"goods":[{"id":"a b","name":"X","price":1,"kind":"skin"}]}"#).contains("id `a b`")
        );
    }
}
