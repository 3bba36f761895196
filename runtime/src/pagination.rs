//! Following a provider's pagination, one page in memory at a time.
//!
//! The three styles the shipped providers use are declared in their `provider.yaml`
//! (the vocabulary of Nango's providers file): a cursor returned in the body and sent
//! back as a parameter (HubSpot), a next-page URL in the body (Salesforce), and a
//! limit/offset pair that stops at the first short page (Attio).

use crate::json::{self, Seg};
use crate::{Connection, Error, ProviderSpec, Request, Runtime};
use futures_util::stream::{self, BoxStream, Stream, TryStreamExt};
use serde_json::Value;

/// A stream of records; unified list actions return this.
pub type RecordStream<'a, T> = BoxStream<'a, Result<T, Error>>;

/// Options of a list action.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ListOptions {
    /// Records per request; capped at the provider's maximum. `None` uses the largest
    /// page the provider allows (fewest requests).
    pub page_size: Option<u32>,
    /// Only records changed after this instant, where the provider can filter on it.
    pub modified_since: Option<crate::DateTime>,
}

/// How the next page is requested.
#[derive(Clone, Copy, Debug)]
pub enum PageStyle {
    /// The cursor at `path` in a page is sent back as parameter `param`.
    Cursor {
        param: &'static str,
        path: &'static [Seg],
    },
    /// The page names the next page's URL (absolute path) at `path`.
    NextUrl { path: &'static [Seg] },
    /// `param` counts records already read; a page shorter than the limit is the last.
    Offset { param: &'static str },
}

/// A provider's pagination, from its `provider.yaml`.
#[derive(Clone, Copy, Debug)]
pub struct Pagination {
    pub style: PageStyle,
    /// Where the records of a page are.
    pub records: &'static [Seg],
    /// The parameter carrying the page size, if the provider takes one.
    pub limit_param: Option<&'static str>,
    /// A header carrying the page size instead, with `{page_size}` in its value.
    pub limit_header: Option<(&'static str, &'static str)>,
    pub max_page_size: u32,
    /// Parameters go in the JSON body (POST queries) rather than the query string.
    pub params_in_body: bool,
}

struct Cursor {
    next: Option<Request>,
    offset: u64,
    /// The cursor or URL that led to the current page: a provider repeating it would
    /// otherwise make the stream request the same page forever.
    previous: Option<String>,
}

impl Runtime {
    /// Streams the records of a list request, page after page, until the provider
    /// says there are no more. Each item is one record's JSON.
    ///
    /// A page without its records key, a next page the provider names twice in a row
    /// (which would loop forever), or a next-page URL on another host ends the stream
    /// with [`Error::UnexpectedResponse`].
    pub fn paginate<'a>(
        &'a self,
        connection: &'a Connection,
        provider: &'static ProviderSpec,
        pagination: &'static Pagination,
        first: Request,
        page_size: Option<u32>,
    ) -> impl Stream<Item = Result<Value, Error>> + Send + 'a {
        let size = page_size
            .unwrap_or(pagination.max_page_size)
            .clamp(1, pagination.max_page_size.max(1));
        // Listing only reads, whatever the method: every page request may be retried.
        let first = with_page_params(first.reading(), pagination, size, 0);
        let pages = stream::try_unfold(
            Cursor {
                next: Some(first),
                offset: 0,
                previous: None,
            },
            move |mut cursor| async move {
                let Some(request) = cursor.next.take() else {
                    return Ok(None);
                };
                let template = request.clone();
                let response = self.send(connection, provider, request).await?;
                let unexpected = |reason: String| Error::UnexpectedResponse {
                    provider: provider.name.to_string(),
                    status: response.status,
                    reason,
                    body: response.raw.clone(),
                };
                let records = match json::get(&response.body, pagination.records) {
                    Some(Value::Array(items)) => items.clone(),
                    // An explicit `null` is an empty page; a missing key is no page.
                    None if json::get_raw(&response.body, pagination.records).is_some() => {
                        Vec::new()
                    }
                    _ => {
                        return Err(unexpected(format!(
                            "expected an array of records at `{}`",
                            json::display(pagination.records)
                        )));
                    }
                };
                cursor.offset += records.len() as u64;
                let next_token = match pagination.style {
                    PageStyle::Cursor { path, .. } => {
                        json::get(&response.body, path).and_then(|after| match after {
                            Value::String(text) if !text.is_empty() => Some(text.clone()),
                            Value::Number(number) => Some(number.to_string()),
                            _ => None,
                        })
                    }
                    PageStyle::NextUrl { path } => json::get(&response.body, path)
                        .and_then(Value::as_str)
                        .filter(|url| !url.is_empty())
                        .map(str::to_string),
                    // A full page means there may be more; an empty or short one ends it.
                    PageStyle::Offset { .. } => (!records.is_empty()
                        && records.len() as u64 >= u64::from(size))
                    .then(|| cursor.offset.to_string()),
                };
                if let Some(token) = &next_token
                    && cursor.previous.as_ref() == Some(token)
                {
                    return Err(unexpected(format!(
                        "the provider named the same next page twice (`{token}`)"
                    )));
                }
                cursor.next = match (pagination.style, next_token.clone()) {
                    (_, None) => None,
                    (PageStyle::Cursor { param, .. }, Some(after)) => {
                        Some(set_param(template, pagination, param, Value::String(after)))
                    }
                    (PageStyle::NextUrl { .. }, Some(url)) => {
                        let relative = next_path(&url, provider).ok_or_else(|| {
                            unexpected(format!(
                                "the next page `{url}` is not on the provider's host"
                            ))
                        })?;
                        let mut next = Request::new(template.operation, template.method, relative);
                        next.headers = template.headers.clone();
                        Some(next.reading())
                    }
                    (PageStyle::Offset { param }, Some(_)) => Some(set_param(
                        template,
                        pagination,
                        param,
                        Value::from(cursor.offset),
                    )),
                };
                cursor.previous = next_token;
                Ok(Some((records, cursor)))
            },
        );
        pages
            .map_ok(|records| stream::iter(records.into_iter().map(Ok)))
            .try_flatten()
    }
}

/// The path (below the base path) of a next-page link: a path as Salesforce gives it,
/// or an absolute URL whose host is the provider's own (`None` otherwise: following it
/// would send the credentials elsewhere).
fn next_path(url: &str, provider: &ProviderSpec) -> Option<String> {
    let path = if url.starts_with("http://") || url.starts_with("https://") {
        let parsed = reqwest::Url::parse(url).ok()?;
        let live = reqwest::Url::parse(provider.base_url).ok();
        if live.as_ref().and_then(|live| live.host_str()) != parsed.host_str() {
            return None;
        }
        match parsed.query() {
            Some(query) => format!("{}?{query}", parsed.path()),
            None => parsed.path().to_string(),
        }
    } else {
        url.to_string()
    };
    Some(
        path.strip_prefix(provider.base_path)
            .unwrap_or(&path)
            .to_string(),
    )
}

fn with_page_params(
    mut request: Request,
    pagination: &Pagination,
    size: u32,
    offset: u64,
) -> Request {
    if let Some(param) = pagination.limit_param {
        request = set_param(request, pagination, param, Value::from(size));
    }
    if let Some((name, value)) = pagination.limit_header {
        request
            .headers
            .push((name, value.replace("{page_size}", &size.to_string())));
    }
    if let PageStyle::Offset { param } = pagination.style {
        request = set_param(request, pagination, param, Value::from(offset));
    }
    request
}

fn set_param(
    mut request: Request,
    pagination: &Pagination,
    name: &'static str,
    value: Value,
) -> Request {
    if pagination.params_in_body {
        let mut body = request
            .body
            .take()
            .unwrap_or_else(|| Value::Object(Default::default()));
        json::set(&mut body, &[Seg::Key(name)], value);
        request.body = Some(body);
    } else {
        let text = match value {
            Value::String(text) => text,
            other => other.to_string(),
        };
        request.query.retain(|(existing, _)| *existing != name);
        request.query.push((name, text));
    }
    request
}
