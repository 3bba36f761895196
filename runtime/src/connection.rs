//! A connection: one end customer's credentials and settings on one provider.

use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// How a connection proves who it is. The secret is wrapped so that `Debug`, logs and
/// errors never show it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Credentials {
    /// `Authorization: Bearer <token>`: private-app tokens, API keys used as bearer
    /// tokens (Attio), OAuth access tokens.
    BearerToken(SecretString),
    /// A key sent in the header the provider definition names.
    ApiKey(SecretString),
    /// OAuth 2 tokens: sent as a bearer token, refreshed with the refresh grant at the
    /// provider's `token_url` when the provider answers 401 (once per expiry, however
    /// many requests are waiting), with the new tokens handed to a callback to store.
    OAuth2(OAuth2),
}

/// What an OAuth 2 connection starts with.
pub struct OAuth2Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub client_id: String,
    pub client_secret: String,
}

/// Tokens a refresh produced, for the application to store.
pub struct RefreshedTokens {
    pub access_token: SecretString,
    /// The refresh token to use next time (the provider may have rotated it).
    pub refresh_token: SecretString,
}

type RefreshCallback = Arc<dyn Fn(&RefreshedTokens) + Send + Sync>;

/// What `Credentials::oauth2` takes to tell the application about new tokens.
pub type OnRefresh = Box<dyn Fn(&RefreshedTokens) + Send + Sync>;

/// Shared, self-refreshing OAuth 2 tokens (clones share them).
#[derive(Clone)]
pub struct OAuth2 {
    pub(crate) inner: Arc<OAuth2Inner>,
}

pub(crate) struct OAuth2Inner {
    access: RwLock<SecretString>,
    refresh: RwLock<SecretString>,
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
    /// Bumped by each refresh, so a request that saw an older token knows another task
    /// has already refreshed it.
    generation: AtomicU64,
    /// Held while refreshing: concurrent requests on one connection refresh once.
    pub(crate) refreshing: tokio::sync::Mutex<()>,
    on_refresh: Option<RefreshCallback>,
}

impl std::fmt::Debug for OAuth2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2")
            .field("client_id", &self.inner.client_id)
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}

impl OAuth2 {
    pub(crate) fn access_token(&self) -> String {
        self.inner
            .access
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .expose_secret()
            .to_string()
    }

    pub(crate) fn refresh_token(&self) -> String {
        self.inner
            .refresh
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .expose_secret()
            .to_string()
    }

    pub(crate) fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::SeqCst)
    }

    /// Stores refreshed tokens and tells the application.
    pub(crate) fn store(&self, access: String, refresh: Option<String>) {
        *self
            .inner
            .access
            .write()
            .unwrap_or_else(PoisonError::into_inner) = SecretString::from(access.clone());
        let refresh = refresh.unwrap_or_else(|| self.refresh_token());
        *self
            .inner
            .refresh
            .write()
            .unwrap_or_else(PoisonError::into_inner) = SecretString::from(refresh.clone());
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(callback) = &self.inner.on_refresh {
            callback(&RefreshedTokens {
                access_token: SecretString::from(access),
                refresh_token: SecretString::from(refresh),
            });
        }
    }
}

impl Credentials {
    pub fn bearer(token: impl Into<String>) -> Credentials {
        Credentials::BearerToken(SecretString::from(token.into()))
    }

    pub fn api_key(key: impl Into<String>) -> Credentials {
        Credentials::ApiKey(SecretString::from(key.into()))
    }

    /// OAuth 2 tokens that refresh themselves; `on_refresh` receives the new tokens so
    /// they can be stored (the refresh token may rotate).
    pub fn oauth2(tokens: OAuth2Tokens, on_refresh: Option<OnRefresh>) -> Credentials {
        Credentials::OAuth2(OAuth2 {
            inner: Arc::new(OAuth2Inner {
                access: RwLock::new(SecretString::from(tokens.access_token)),
                refresh: RwLock::new(SecretString::from(tokens.refresh_token)),
                client_id: tokens.client_id,
                client_secret: SecretString::from(tokens.client_secret),
                generation: AtomicU64::new(0),
                refreshing: tokio::sync::Mutex::new(()),
                on_refresh: on_refresh.map(Arc::from),
            }),
        })
    }

    pub(crate) fn secret(&self) -> String {
        match self {
            Credentials::BearerToken(secret) | Credentials::ApiKey(secret) => {
                secret.expose_secret().to_string()
            }
            Credentials::OAuth2(oauth) => oauth.access_token(),
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
    /// Requests of a long-term allocation (Salesforce's daily API requests) this
    /// connection leaves unused for the customer's other integrations.
    quota_reserve: u64,
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
            quota_reserve: 0,
        }
    }

    /// Stops this connection's requests when the provider reports (through a usage
    /// header such as Salesforce's `Sforce-Limit-Info`) that fewer than `requests` of
    /// its long-term allocation are left, so a bulk job never spends the requests the
    /// customer's other integrations need. Requests stopped this way fail with
    /// [`crate::Error::QuotaExhausted`] before they are sent.
    pub fn with_quota_reserve(mut self, requests: u64) -> Connection {
        self.quota_reserve = requests;
        self
    }

    /// See [`Connection::with_quota_reserve`].
    pub fn quota_reserve(&self) -> u64 {
        self.quota_reserve
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

    /// The first provider field name of this connection's custom-field maps that is not
    /// an identifier (letters, digits and `_`, not starting with a digit). Such a name
    /// could change a query it is spliced into (a SOQL field list, a property list), so
    /// actions refuse the connection before sending anything.
    pub fn invalid_field_mapping(&self) -> Option<&str> {
        let is_identifier = |name: &str| {
            name.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        self.field_mappings
            .values()
            .flatten()
            .map(|(_, provider_field)| provider_field.as_str())
            .find(|name| !is_identifier(name))
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
