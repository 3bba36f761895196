//! Responses that do not have the documented shape become typed errors carrying the
//! status and the body, never panics. A bare TCP server plays a misbehaving provider.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use unifold_providers::{get_contact, list_contacts};
use unifold_runtime::{
    Connection, Credentials, Error, ErrorCategory, ListOptions, Runtime, StreamExt,
};

/// Serves one fixed HTTP response to every request, until the test ends.
async fn serve(status: &'static str, content_type: &'static str, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 65536];
                // One read is enough for the small requests of these tests.
                let _ = socket.read(&mut buffer).await;
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    url
}

fn connection(url: &str) -> Connection {
    Connection::new("c", "hubspot", Credentials::bearer("t")).with_origin(url)
}

#[tokio::test]
async fn a_record_of_the_wrong_shape_is_an_unexpected_response() {
    let url = serve(
        "200 OK",
        "application/json",
        r#"{"id":{"nested":1},"properties":{}}"#,
    )
    .await;
    let runtime = Runtime::new().unwrap();
    let error = get_contact(&runtime, &connection(&url), "1")
        .await
        .unwrap_err();
    assert_eq!(error.category(), ErrorCategory::UnexpectedResponse);
    assert_eq!(error.status(), Some(200));
    assert_eq!(error.body(), Some(r#"{"id":{"nested":1},"properties":{}}"#));
    assert_eq!(
        error.to_string(),
        r#"unexpected response from hubspot (HTTP 200): expected a string at `id`, found {"nested":1}"#
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_an_unexpected_response() {
    let url = serve("200 OK", "text/html", "<html>maintenance</html>").await;
    let runtime = Runtime::new().unwrap();
    let error = get_contact(&runtime, &connection(&url), "1")
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::UnexpectedResponse { status: 200, .. }),
        "{error:?}"
    );
    assert_eq!(error.body(), Some("<html>maintenance</html>"));
}

#[tokio::test]
async fn a_5xx_page_is_a_provider_error_with_its_status_and_body() {
    let url = serve("503 Service Unavailable", "text/html", "<h1>down</h1>").await;
    let runtime = Runtime::new().unwrap();
    let error = get_contact(&runtime, &connection(&url), "1")
        .await
        .unwrap_err();
    assert_eq!(error.category(), ErrorCategory::Provider);
    assert_eq!(error.status(), Some(503));
    assert_eq!(
        error.to_string(),
        "hubspot failed (HTTP 503): <h1>down</h1>"
    );
}

#[tokio::test]
async fn a_page_whose_records_are_not_an_array_ends_the_list_with_an_error() {
    let url = serve("200 OK", "application/json", r#"{"results":"nope"}"#).await;
    let runtime = Runtime::new().unwrap();
    let connection = connection(&url);
    let mut stream = list_contacts(&runtime, &connection, &ListOptions::default());
    let error = stream.next().await.unwrap().unwrap_err();
    assert_eq!(error.category(), ErrorCategory::UnexpectedResponse);
    assert_eq!(
        error.to_string(),
        "unexpected response from hubspot (HTTP 200): expected an array of records at `results`"
    );
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn a_page_without_its_records_key_is_not_an_empty_last_page() {
    let url = serve("200 OK", "application/json", r#"{"paging":{}}"#).await;
    let runtime = Runtime::new().unwrap();
    let connection = connection(&url);
    let mut stream = list_contacts(&runtime, &connection, &ListOptions::default());
    let error = stream.next().await.unwrap().unwrap_err();
    assert_eq!(
        error.to_string(),
        "unexpected response from hubspot (HTTP 200): expected an array of records at `results`"
    );
}

#[tokio::test]
async fn a_cursor_named_twice_ends_the_list_instead_of_looping() {
    let url = serve(
        "200 OK",
        "application/json",
        r#"{"results":[],"paging":{"next":{"after":"same"}}}"#,
    )
    .await;
    let runtime = Runtime::new().unwrap();
    let connection = connection(&url);
    let items: Vec<_> = list_contacts(&runtime, &connection, &ListOptions::default())
        .collect()
        .await;
    assert_eq!(items.len(), 1);
    let error = items.into_iter().next().unwrap().unwrap_err();
    assert_eq!(
        error.to_string(),
        "unexpected response from hubspot (HTTP 200): the provider named the same next page twice (`same`)"
    );
}
