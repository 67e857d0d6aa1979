//! The ICE servers a browser needs to reach its peers, from configuration and never from the
//! page: STUN addresses as given, and TURN addresses with short-lived credentials made by the
//! TURN REST scheme that coturn's `use-auth-secret` checks (user name `{expiry}:{uid}`,
//! password base64 of HMAC-SHA1 over that name with the shared secret), so no long-lived
//! TURN password ever reaches a client.

use base64::Engine;
use ring::hmac;
use serde::Serialize;

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IceServer {
    /// `stun:` or `turn:` / `turns:` addresses.
    pub urls: Vec<String>,
    /// TURN only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Where the ICE servers come from.
#[derive(Debug, Clone, Default)]
pub struct IceConfig {
    /// STUN addresses (`stun:host:port`).
    pub stun: Vec<String>,
    /// TURN addresses (`turn:host:port?transport=udp`, …).
    pub turn: Vec<String>,
    /// The secret shared with the TURN server; without it TURN addresses are not offered.
    pub turn_secret: Option<String>,
    /// How long TURN credentials last, in seconds.
    pub turn_ttl_secs: u64,
}

impl IceConfig {
    /// The servers for `uid`, with TURN credentials valid from `now` (Unix s).
    pub fn servers_for(&self, uid: &str, now: u64) -> Vec<IceServer> {
        let mut servers = Vec::new();
        if !self.stun.is_empty() {
            servers.push(IceServer {
                urls: self.stun.clone(),
                username: None,
                credential: None,
            });
        }
        if let (false, Some(secret)) = (self.turn.is_empty(), &self.turn_secret) {
            let username = format!("{}:{uid}", now + self.turn_ttl_secs);
            let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret.as_bytes());
            let tag = hmac::sign(&key, username.as_bytes());
            servers.push(IceServer {
                urls: self.turn.clone(),
                username: Some(username),
                credential: Some(base64::engine::general_purpose::STANDARD.encode(tag.as_ref())),
            });
        }
        servers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_configured_offers_nothing() {
        assert!(IceConfig::default().servers_for("7", 100).is_empty());
    }

    #[test]
    fn turn_credentials_follow_the_rest_scheme() {
        let ice = IceConfig {
            stun: vec!["stun:stun.example:3478".into()],
            turn: vec!["turn:turn.example:3478".into()],
            turn_secret: Some("s3cret".into()),
            turn_ttl_secs: 600,
        };
        let servers = ice.servers_for("7", 1_000);
        assert_eq!(servers[0].urls, ["stun:stun.example:3478"]);
        assert_eq!(servers[1].username.as_deref(), Some("1600:7"));
        // HMAC-SHA1("s3cret", "1600:7"), as `openssl dgst -sha1 -hmac s3cret -binary | base64` gives.
        assert_eq!(
            servers[1].credential.as_deref(),
            Some("Av8pWHWxvKXJg9UJ0+1VCEKg/B4=")
        );
    }

    #[test]
    fn turn_without_a_secret_is_not_offered() {
        let ice = IceConfig {
            turn: vec!["turn:turn.example:3478".into()],
            ..Default::default()
        };
        assert!(ice.servers_for("7", 1).is_empty());
    }
}
