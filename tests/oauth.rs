//! OAuth connections: an access token that expires mid-run is refreshed once (however
//! many requests are waiting), no call fails, and the new tokens reach the callback.

mod common;

use secrecy::ExposeSecret;
use std::sync::{Arc, Mutex};
use unifold_providers::{ContactInput, create_contact, get_contact};
use unifold_runtime::{Connection, Credentials, ErrorCategory, OAuth2Tokens, Runtime};
use unifold_sandbox::Vendor;

const ACCESS: &str = "access-0-9c2f";
const REFRESH: &str = "refresh-0-71aa";

fn oauth_connection(
    url: &str,
    vendor: Vendor,
    stored: Arc<Mutex<Vec<(String, String)>>>,
) -> Connection {
    let tokens = OAuth2Tokens {
        access_token: ACCESS.into(),
        refresh_token: REFRESH.into(),
        client_id: "client-1".into(),
        client_secret: "client-secret-1".into(),
    };
    let on_refresh = move |new: &unifold_runtime::RefreshedTokens| {
        stored.lock().unwrap().push((
            new.access_token.expose_secret().to_string(),
            new.refresh_token.expose_secret().to_string(),
        ));
    };
    Connection::new(
        "customer-oauth",
        vendor.name(),
        Credentials::oauth2(tokens, Some(Box::new(on_refresh))),
    )
    .with_origin(url)
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_no_call_fails() {
    let runtime = Runtime::new().unwrap();
    for vendor in Vendor::ALL {
        let (sandbox, _) = common::start(vendor, ACCESS).await;
        sandbox.enable_oauth("client-1", "client-secret-1", REFRESH);
        let stored = Arc::new(Mutex::new(Vec::new()));
        let connection = oauth_connection(&sandbox.url(), vendor, stored.clone());
        let input = ContactInput {
            last_name: Some("Lovelace".into()),
            ..Default::default()
        };
        let created = create_contact(&runtime, &connection, &input).await.unwrap();

        sandbox.expire_access_token();
        let reads = (0..8).map(|_| get_contact(&runtime, &connection, &created.remote_id));
        for result in futures_util::future::join_all(reads).await {
            result.unwrap_or_else(|e| panic!("{}: {e}", vendor.name()));
        }
        assert_eq!(
            sandbox.token_grants(),
            1,
            "{}: one refresh for eight waiting reads",
            vendor.name()
        );
        let stored = stored.lock().unwrap().clone();
        assert_eq!(stored.len(), 1);
        assert!(stored[0].0.starts_with("access-") && stored[0].0 != ACCESS);
        // The rotated refresh token is the one used next time.
        sandbox.expire_access_token();
        get_contact(&runtime, &connection, &created.remote_id)
            .await
            .unwrap();
        assert_eq!(sandbox.token_grants(), 2, "{}", vendor.name());
        assert!(
            !format!("{connection:?}").contains("access-"),
            "{connection:?}"
        );
    }
}

#[tokio::test]
async fn a_refused_refresh_is_an_auth_error_without_the_tokens() {
    let runtime = Runtime::new().unwrap();
    let (sandbox, _) = common::start(Vendor::HubSpot, ACCESS).await;
    sandbox.enable_oauth("client-1", "another-secret", REFRESH);
    let connection = oauth_connection(&sandbox.url(), Vendor::HubSpot, Arc::default());
    sandbox.expire_access_token();
    let error = get_contact(&runtime, &connection, "512").await.unwrap_err();
    assert_eq!(error.category(), ErrorCategory::Auth);
    assert_eq!(
        error.to_string(),
        "hubspot refused the credentials of connection customer-oauth (HTTP 400): refreshing the OAuth token failed: invalid_client"
    );
    for secret in [REFRESH, "client-secret-1", ACCESS] {
        assert!(!error.to_string().contains(secret));
        assert!(!format!("{error:?}").contains(secret));
    }
}
