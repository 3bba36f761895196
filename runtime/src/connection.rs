//! A connection: one end customer's credentials and settings on one provider.

use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;

/// How a connection proves who it is. The secret is wrapped so that `Debug`, logs and
/// errors never show it.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// `Authorization: Bearer <token>`: private-app tokens, API keys used as bearer
    /// tokens (Attio), OAuth access tokens.
    BearerToken(SecretString),
    /// A key sent in the header the provider definition names.
    ApiKey(SecretString),
}

impl Credentials {
    pub fn bearer(token: impl Into<String>) -> Credentials {
        Credentials::BearerToken(SecretString::from(token.into()))
    }

    pub fn api_key(key: impl Into<String>) -> Credentials {
        Credentials::ApiKey(SecretString::from(key.into()))
    }

    pub(crate) fn secret(&self) -> &str {
        match self {
            Credentials::BearerToken(secret) | Credentials::ApiKey(secret) => {
                secret.expose_secret()
            }
        }
    }
}

/// One end customer's account on one provider. The provider name picks which
/// generated implementation a unified action runs.
#[derive(Clone, Debug)]
pub struct Connection {
    id: String,
    provider: String,
    credentials: Credentials,
    config: BTreeMap<String, String>,
    origin: Option<String>,
    /// Per model: unified custom-field name → the provider's field name.
    field_mappings: BTreeMap<String, Vec<(String, String)>>,
}

impl Connection {
    /// `id` names the connection in logs and errors (e.g. your customer's id);
    /// `provider` is a provider name from `providers/` (`hubspot`, `salesforce`, `attio`).
    pub fn new(
        id: impl Into<String>,
        provider: impl Into<String>,
        credentials: Credentials,
    ) -> Connection {
        Connection {
            id: id.into(),
            provider: provider.into(),
            credentials,
            config: BTreeMap::new(),
            origin: None,
            field_mappings: BTreeMap::new(),
        }
    }

    /// Sets a connection setting the provider definition declares, such as
    /// Salesforce's `instance_url`.
    pub fn with_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Connection {
        self.config.insert(key.into(), value.into());
        self
    }

    /// Sends every request to `origin` (`scheme://host:port`) instead of the live
    /// API's host, keeping the provider's base path. This is how the sandboxes and
    /// recording proxies are reached.
    pub fn with_origin(mut self, origin: impl Into<String>) -> Connection {
        self.origin = Some(origin.into().trim_end_matches('/').to_string());
        self
    }

    /// Maps a unified custom field of `model` (e.g. `Contact`'s `custom_fields.tier`)
    /// to this end customer's provider field (`customer_tier__c`). Each connection has
    /// its own map: one customer's Salesforce names fields differently from another's.
    pub fn with_field_mapping(
        mut self,
        model: impl Into<String>,
        unified: impl Into<String>,
        provider_field: impl Into<String>,
    ) -> Connection {
        let entries = self.field_mappings.entry(model.into()).or_default();
        let unified = unified.into();
        entries.retain(|(existing, _)| *existing != unified);
        entries.push((unified, provider_field.into()));
        self
    }

    /// The custom-field map of `model`: `(unified name, provider field)` pairs.
    pub fn field_mappings(&self, model: &str) -> &[(String, String)] {
        self.field_mappings
            .get(model)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn provider(&self) -> &str {
        &self.provider
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    pub fn config(&self, key: &str) -> Option<&str> {
        self.config.get(key).map(String::as_str)
    }

    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let connection = Connection::new(
            "acme",
            "hubspot",
            Credentials::bearer("pat-na1-very-secret"),
        )
        .with_config("instance_url", "https://acme.my.salesforce.com");
        let shown = format!("{connection:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("acme"));
    }
}
