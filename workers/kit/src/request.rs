//! What a handler knows about a request besides its payload ([`Request`]: who is calling,
//! the trace context), and [`Empty`], the payload of a method that takes no arguments.

use crate::caller::Caller;
use crate::error::ServiceError;

/// What a handler knows about a request besides its payload.
#[derive(Debug, Clone)]
pub struct Request {
    /// Who sent it, if it came through a bridge.
    pub caller: Option<Caller>,
    /// Its W3C trace context, if any.
    pub traceparent: Option<String>,
}

impl Request {
    /// The caller, whoever it is (guests included).
    pub fn caller(&self) -> Result<&Caller, ServiceError> {
        self.caller
            .as_ref()
            .ok_or_else(|| ServiceError::unauthorized("no caller identity"))
    }

    /// The caller, who must be a signed-in user.
    pub fn user(&self) -> Result<&Caller, ServiceError> {
        let caller = self.caller()?;
        if !caller.is_user() {
            return Err(ServiceError::unauthorized("sign in first"));
        }
        Ok(caller)
    }

    /// Refuses a request that came through a bridge: for methods only other workers may
    /// call (a bridge stamps every client request with its caller; a worker's has none).
    pub fn internal(&self) -> Result<(), ServiceError> {
        match self.caller {
            None => Ok(()),
            Some(_) => Err(ServiceError::forbidden("an internal method")),
        }
    }
}

/// The payload of a method that takes no arguments: accepts anything (or nothing).
#[derive(Debug, Clone, Copy, Default)]
pub struct Empty;

impl<'de> serde::Deserialize<'de> for Empty {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Empty, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Empty)
    }
}
