//! How a connection's credentials go on the wire, by the provider's `auth:` section.

use crate::provider::{AuthScheme, ProviderSpec};
use crate::{Connection, Error};
use reqwest::RequestBuilder;
use reqwest::header::HeaderValue;

/// Adds the connection's credentials to a request to `provider`.
pub(crate) fn apply(
    builder: RequestBuilder,
    provider: &ProviderSpec,
    connection: &Connection,
) -> Result<RequestBuilder, Error> {
    Ok(match provider.auth {
        AuthScheme::Bearer => builder.bearer_auth(connection.credentials().secret()),
        AuthScheme::Header(name) => builder.header(
            name,
            sensitive_value(connection, name, &connection.credentials().secret())?,
        ),
    })
}

/// A header value marked sensitive like bearer tokens: kept out of Debug output and of
/// HTTP/2 header compression tables.
fn sensitive_value(
    connection: &Connection,
    name: &str,
    secret: &str,
) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::from_str(secret).map_err(|_| Error::Config {
        connection: connection.id().to_string(),
        message: format!(
            "the API key for header `{name}` contains characters a header cannot carry"
        ),
    })?;
    value.set_sensitive(true);
    Ok(value)
}
