//! Access tokens: what verifies, and every forgery the bridge must refuse.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chorus_accounts::keys::SigningKeys;
use chorus_protocol::token::Claims;
use chorus_protocol::{Identity, Namespace};
use chorus_runtime::clock::unix_now;
use chorus_runtime::token::{TokenError, Verifier};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::json;

fn new_key() -> Vec<u8> {
    EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .unwrap()
        .as_ref()
        .to_vec()
}

fn claims(now: u64, ttl: u64) -> Claims {
    let user = Identity {
        id: "42".into(),
        name: "ann".into(),
        ns: Namespace::Private,
    };
    Claims::new("chorus", "chorus", &user, now, ttl)
}

fn verifier(keys: &SigningKeys) -> Verifier {
    Verifier::new(&keys.jwks(), "chorus", "chorus", 5)
}

/// A token with any header and claims, signed (or not) as given.
fn forge(header: serde_json::Value, claims: serde_json::Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string()),
        B64.encode(signature)
    )
}

#[test]
fn a_signed_token_verifies_and_names_its_user() {
    let keys = SigningKeys::from_pkcs8(&[&new_key()]).unwrap();
    let token = keys.sign(&claims(unix_now(), 900)).unwrap();
    let got = verifier(&keys).verify(&token).unwrap();
    assert_eq!(
        got.identity(),
        Identity {
            id: "42".into(),
            name: "ann".into(),
            ns: Namespace::Private
        }
    );
}

#[test]
fn several_keys_sign_with_the_newest_and_verify_any() {
    let (old, new) = (new_key(), new_key());
    let only_old = SigningKeys::from_pkcs8(&[&old]).unwrap();
    let both = SigningKeys::from_pkcs8(&[&old, &new]).unwrap();
    let old_token = only_old.sign(&claims(unix_now(), 900)).unwrap();
    let new_token = both.sign(&claims(unix_now(), 900)).unwrap();
    let v = verifier(&both);
    assert!(v.verify(&old_token).is_ok());
    assert!(v.verify(&new_token).is_ok());
    assert_eq!(both.jwks().keys.len(), 2);
    assert_eq!(
        verifier(&only_old).verify(&new_token),
        Err(TokenError::UnknownKey)
    );
}

#[test]
fn forgeries_and_bad_claims_are_refused() {
    let keys = SigningKeys::from_pkcs8(&[&new_key()]).unwrap();
    let v = verifier(&keys);
    let jwk = &keys.jwks().keys[0];
    let now = unix_now();
    let good = keys.sign(&claims(now, 900)).unwrap();
    let body = serde_json::to_value(claims(now, 900)).unwrap();

    // alg: none, with and without a signature.
    let none = forge(json!({"alg":"none","kid":jwk.kid}), body.clone(), b"");
    assert!(v.verify(&none).is_err());
    assert!(v.verify(&format!("{}.", &none[..none.len() - 1])).is_err());
    // HS256 with the public key as the HMAC secret.
    let public = serde_json::to_vec(jwk).unwrap();
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = Some(jwk.kid.clone());
    let hs = jsonwebtoken::encode(
        &hs_header,
        &body,
        &jsonwebtoken::EncodingKey::from_secret(&public),
    )
    .unwrap();
    assert_eq!(v.verify(&hs), Err(TokenError::Malformed));
    let hs_xy = jsonwebtoken::encode(
        &hs_header,
        &body,
        &jsonwebtoken::EncodingKey::from_secret(jwk.x.as_bytes()),
    )
    .unwrap();
    assert_eq!(v.verify(&hs_xy), Err(TokenError::Malformed));
    // RS256.
    let rs = forge(
        json!({"alg":"RS256","kid":jwk.kid,"typ":"JWT"}),
        body.clone(),
        &[7u8; 256],
    );
    assert!(v.verify(&rs).is_err());
    // Missing or unknown kid.
    let mut no_kid = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    no_kid.kid = None;
    let parts: Vec<&str> = good.split('.').collect();
    let no_kid_token = format!(
        "{}.{}.{}",
        B64.encode(serde_json::to_string(&no_kid).unwrap()),
        parts[1],
        parts[2]
    );
    assert_eq!(v.verify(&no_kid_token), Err(TokenError::Malformed));
    let other = SigningKeys::from_pkcs8(&[&new_key()]).unwrap();
    assert_eq!(
        v.verify(&other.sign(&claims(now, 900)).unwrap()),
        Err(TokenError::UnknownKey)
    );
    // A tampered payload under the original signature.
    let mut evil = body.clone();
    evil["sub"] = json!("1");
    let tampered = format!("{}.{}.{}", parts[0], B64.encode(evil.to_string()), parts[2]);
    assert_eq!(v.verify(&tampered), Err(TokenError::Invalid));
    // Expired, not yet valid, wrong issuer, wrong audience (all properly signed).
    let mut c = claims(now - 3600, 900);
    assert_eq!(v.verify(&keys.sign(&c).unwrap()), Err(TokenError::Expired));
    c = claims(now, 900);
    c.nbf = now + 600;
    assert_eq!(v.verify(&keys.sign(&c).unwrap()), Err(TokenError::NotYetValid));
    c = claims(now, 900);
    c.iss = "someone-else".into();
    assert_eq!(v.verify(&keys.sign(&c).unwrap()), Err(TokenError::Invalid));
    c = claims(now, 900);
    c.aud = "another-app".into();
    assert_eq!(v.verify(&keys.sign(&c).unwrap()), Err(TokenError::Invalid));
    // Garbage.
    for junk in ["", "a.b", "a.b.c", "not a token", "...."] {
        assert!(v.verify(junk).is_err(), "{junk:?}");
    }
    assert!(v.verify(&good).is_ok());
}

#[test]
fn a_key_directory_is_generated_once_and_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    assert!(SigningKeys::load_dir(&keys_dir, false).is_err());
    let first = SigningKeys::load_dir(&keys_dir, true).unwrap();
    let again = SigningKeys::load_dir(&keys_dir, true).unwrap();
    assert_eq!(first.jwks(), again.jwks());
    assert_eq!(std::fs::read_dir(&keys_dir).unwrap().count(), 1);
    let token = first.sign(&claims(unix_now(), 60)).unwrap();
    assert!(verifier(&again).verify(&token).is_ok());
}
