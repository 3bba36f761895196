//! Many writes in one request: a provider's batch endpoint, declared under `batch:` in
//! a mapping (HubSpot's `batch/create`, Salesforce's `composite/sobjects`). Generated
//! code describes the endpoint with a [`BatchSpec`] and builds each item's body; this
//! module sends the chunks, gives every input its own outcome, and falls back to one
//! request per input where a batch cannot tell the inputs apart.

use crate::json::{self, Seg};
use crate::{Connection, Error, Method, ProviderSpec, Request, Runtime};
use futures_util::future::BoxFuture;
use serde_json::Value;

/// A provider's batch endpoint, from the `batch:` of a mapping's create or update.
#[derive(Clone, Copy, Debug)]
pub struct BatchSpec {
    /// The OpenAPI `operationId`, for logs.
    pub operation: &'static str,
    pub method: Method,
    pub path: &'static str,
    /// The most items one request takes.
    pub max: usize,
    /// Where the array of items goes in the request body.
    pub items: &'static [Seg],
    /// Where the per-item results are in the response (empty: the body is the array).
    pub results: &'static [Seg],
    pub matching: BatchMatch,
    /// Where per-item errors are listed apart from the results (HubSpot's 207
    /// `errors`); each is matched to its item as `matching` says.
    pub errors: Option<&'static [Seg]>,
    /// In each result, a boolean that is false when the item failed (Salesforce's
    /// `success`); the failure is then at `error` inside the result.
    pub success: Option<&'static [Seg]>,
    pub error: Option<&'static [Seg]>,
    /// In an item's error, where its message is.
    pub error_message: &'static [Seg],
    /// Sending it twice has the effect of sending it once (batch updates), so it may be
    /// retried after an ambiguous failure.
    pub idempotent: bool,
}

/// How results and errors are paired with the items that caused them.
#[derive(Clone, Copy, Debug)]
pub enum BatchMatch {
    /// The results come back in request order, one per item.
    Order,
    /// Each item carries its position (as a string) at `item`; results echo it at
    /// `result` and errors at `error`, in any order.
    Tag {
        item: &'static [Seg],
        result: &'static [Seg],
        error: Option<&'static [Seg]>,
    },
    /// Items carry their record id at `item` (updates); results and errors name it.
    Id {
        item: &'static [Seg],
        result: &'static [Seg],
        error: Option<&'static [Seg]>,
    },
}

impl Runtime {
    /// Sends `items` (at most `spec.max`) in one request whose other fields are `body`,
    /// and returns each item's raw result or its own error, in the order of `items`.
    /// `Err` when the request as a whole failed (then no item has an outcome).
    pub async fn send_batch(
        &self,
        connection: &Connection,
        provider: &ProviderSpec,
        spec: &BatchSpec,
        mut body: Value,
        mut items: Vec<Value>,
    ) -> Result<Vec<Result<Value, Error>>, Error> {
        let count = items.len();
        if let BatchMatch::Tag { item, .. } = spec.matching {
            for (position, entry) in items.iter_mut().enumerate() {
                json::set(entry, item, Value::String(position.to_string()));
            }
        }
        let keys: Vec<Option<String>> = match spec.matching {
            BatchMatch::Order => vec![None; count],
            BatchMatch::Tag { .. } => (0..count).map(|p| Some(p.to_string())).collect(),
            BatchMatch::Id { item, .. } => items
                .iter()
                .map(|entry| json::get(entry, item).map(text_of))
                .collect(),
        };
        json::set(&mut body, spec.items, Value::Array(items));
        let mut request = Request::new(spec.operation, spec.method, spec.path).json(body);
        request.idempotent = spec.idempotent;
        request.reads = false;
        let response = self.send(connection, provider, request).await?;
        // The provider answered the batch with success, so its writes happened; an
        // answer that does not read leaves each item "maybe written".
        let unexpected = |reason: String| response.unreadable(provider.name, reason);
        let results = json::read_array(&response.body, spec.results)
            .map_err(|problem| unexpected(problem.to_string()))?;
        let item_error = |error: &Value| Error::Rejected {
            provider: provider.name.to_string(),
            status: response.status,
            message: json::get(error, spec.error_message)
                .and_then(Value::as_str)
                .map_or_else(|| error.to_string(), str::to_string),
            body: error.to_string(),
        };
        let failed = |result: &Value| {
            spec.success
                .is_some_and(|path| json::get(result, path) != Some(&Value::Bool(true)))
        };
        let outcome_of = |result: &Value| {
            if failed(result) {
                let error = spec
                    .error
                    .and_then(|path| json::get(result, path))
                    .unwrap_or(result);
                Err(item_error(error))
            } else {
                Ok(result.clone())
            }
        };
        let mut outcomes: Vec<Option<Result<Value, Error>>> = vec![None; count];
        match spec.matching {
            BatchMatch::Order => {
                if results.len() != count {
                    return Err(unexpected(format!(
                        "{} results for {count} items",
                        results.len()
                    )));
                }
                for (slot, result) in outcomes.iter_mut().zip(results) {
                    *slot = Some(outcome_of(result));
                }
            }
            BatchMatch::Tag { result, error, .. } | BatchMatch::Id { result, error, .. } => {
                let position = |key: Option<String>| {
                    key.and_then(|key| keys.iter().position(|k| k.as_deref() == Some(&key)))
                };
                for entry in results {
                    if let Some(at) = position(json::get(entry, result).map(text_of)) {
                        outcomes[at] = Some(outcome_of(entry));
                    }
                }
                if let (Some(errors_path), Some(error_key)) = (spec.errors, error) {
                    let errors = json::get(&response.body, errors_path)
                        .and_then(Value::as_array)
                        .map(Vec::as_slice)
                        .unwrap_or_default();
                    for entry in errors {
                        if let Some(at) = position(json::get(entry, error_key).map(text_of)) {
                            outcomes[at] = Some(Err(item_error(entry)));
                        }
                    }
                }
            }
        }
        Ok(outcomes
            .into_iter()
            .map(|outcome| {
                outcome.unwrap_or_else(|| {
                    Err(unexpected(
                        "the batch response has no result and no error for this item".into(),
                    ))
                })
            })
            .collect())
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// How the records of a batch's results are read.
/// `'p` is the plan's own borrows (closures of the calling action), `'a` the inputs',
/// the runtime's and the connection's.
pub enum BatchRead<'p, 'a, T> {
    /// Each result is the record.
    Record(&'p (dyn Fn(&Value) -> Result<T, Error> + Sync)),
    /// Results carry only the new id (at `id`); the records are read back together.
    IdThenRead {
        id: &'static [Seg],
        read_back: &'p (dyn Fn(Vec<String>) -> BoxFuture<'a, Result<Vec<T>, Error>> + Sync),
        id_of: fn(&T) -> &str,
    },
}

/// What a generated batch action hands to [`write_batch`].
pub struct BatchWrite<'p, 'a, I, T> {
    pub runtime: &'a Runtime,
    pub connection: &'a Connection,
    pub provider: &'a ProviderSpec,
    pub spec: &'a BatchSpec,
    /// The request's fields besides the items.
    pub body: Value,
    /// An input's item body, or why it cannot be sent (checked before any request).
    pub prepare: &'p (dyn Fn(&I) -> Result<Value, Error> + Sync),
    pub read: BatchRead<'p, 'a, T>,
    /// The action for one input, used when the provider refuses a batch as a whole
    /// (HubSpot fails a whole `batch/create` on one duplicate email): each input then
    /// gets its own answer.
    pub one: &'p (dyn Fn(&'a I) -> BoxFuture<'a, Result<T, Error>> + Sync),
    /// After an ambiguous failure (the provider may have written some items): the
    /// action that is safe to run for each input (a create's upsert). Without it the
    /// ambiguous error is each input's outcome.
    pub after_ambiguity: Option<&'p (dyn Fn(&'a I) -> BoxFuture<'a, Result<T, Error>> + Sync)>,
}

/// Runs a batch write: every input is checked first, the valid ones go out in chunks
/// of `spec.max`, and each input gets its own outcome, in input order.
pub async fn write_batch<'p, 'a, I, T: Clone>(
    plan: BatchWrite<'p, 'a, I, T>,
    inputs: &'a [I],
) -> Vec<Result<T, Error>> {
    let mut outcomes: Vec<Option<Result<T, Error>>> = Vec::with_capacity(inputs.len());
    let mut pending: Vec<(usize, Value)> = Vec::new();
    for (index, input) in inputs.iter().enumerate() {
        match (plan.prepare)(input) {
            Ok(item) => {
                outcomes.push(None);
                pending.push((index, item));
            }
            Err(error) => outcomes.push(Some(Err(error))),
        }
    }
    for chunk in pending.chunks(plan.spec.max.max(1)) {
        let indices: Vec<usize> = chunk.iter().map(|(index, _)| *index).collect();
        let items = chunk.iter().map(|(_, item)| item.clone()).collect();
        let sent = plan
            .runtime
            .send_batch(
                plan.connection,
                plan.provider,
                plan.spec,
                plan.body.clone(),
                items,
            )
            .await;
        match sent {
            Ok(results) => {
                let records = read_records(&plan, results).await;
                for (index, record) in indices.into_iter().zip(records) {
                    outcomes[index] = Some(record);
                }
            }
            Err(error) => {
                let fallback = match error.category() {
                    // Refused as a whole for what one input holds: ask input by input.
                    crate::ErrorCategory::Conflict | crate::ErrorCategory::Rejected
                        if indices.len() > 1 =>
                    {
                        Some(plan.one)
                    }
                    _ if error.is_ambiguous() => plan.after_ambiguity,
                    _ => None,
                };
                let pause = crate::outcome::pause_before_fallback(plan.provider, &error);
                match fallback.zip(pause) {
                    Some((action, pause)) => {
                        tracing::info!(
                            operation = plan.spec.operation,
                            items = indices.len(),
                            reason = %error,
                            wait_ms = pause.as_millis() as u64,
                            "the batch failed as a whole: sending its inputs one by one"
                        );
                        tokio::time::sleep(pause).await;
                        let may_exist = error.is_ambiguous();
                        for index in indices {
                            let outcome = action(&inputs[index]).await.map_err(|failure| {
                                if may_exist {
                                    crate::outcome::mark_written(failure, plan.provider, None)
                                } else {
                                    failure
                                }
                            });
                            outcomes[index] = Some(outcome);
                        }
                    }
                    None => {
                        for index in indices {
                            outcomes[index] = Some(Err(error.clone()));
                        }
                    }
                }
            }
        }
    }
    outcomes
        .into_iter()
        .map(|outcome| {
            outcome.unwrap_or_else(|| {
                Err(Error::Config {
                    connection: plan.connection.id().to_string(),
                    message: "a batch input was left without an outcome".into(),
                })
            })
        })
        .collect()
}

async fn read_records<I, T: Clone>(
    plan: &BatchWrite<'_, '_, I, T>,
    results: Vec<Result<Value, Error>>,
) -> Vec<Result<T, Error>> {
    match &plan.read {
        BatchRead::Record(read) => results
            .into_iter()
            .map(|result| {
                result.and_then(|raw| {
                    read(&raw).map_err(|error| {
                        error.after_write(plan.provider.name, None, "reading its result")
                    })
                })
            })
            .collect(),
        BatchRead::IdThenRead {
            id,
            read_back,
            id_of,
        } => {
            let ids: Vec<Result<String, Error>> = results
                .into_iter()
                .map(|result| {
                    result.and_then(|raw| {
                        json::require_string(&raw, id).map_err(|problem| {
                            Error::UnexpectedResponse {
                                provider: plan.provider.name.to_string(),
                                status: 200,
                                reason: problem.to_string(),
                                body: raw.to_string(),
                            }
                            .after_write(
                                plan.provider.name,
                                None,
                                "reading its result",
                            )
                        })
                    })
                })
                .collect();
            let wanted: Vec<String> = ids
                .iter()
                .filter_map(|id| id.as_ref().ok())
                .cloned()
                .collect();
            let records = if wanted.is_empty() {
                Ok(Vec::new())
            } else {
                read_back(wanted).await
            };
            let name = plan.provider.name;
            ids.into_iter()
                .map(|id| {
                    let id = id?;
                    let read = match &records {
                        Ok(records) => records
                            .iter()
                            .find(|record| id_of(record) == id)
                            .cloned()
                            .ok_or_else(|| Error::UnexpectedResponse {
                                provider: name.to_string(),
                                status: 200,
                                reason: format!("record {id} is not in the read-back"),
                                body: String::new(),
                            }),
                        Err(error) => Err(error.clone()),
                    };
                    read.map_err(|error| error.after_write(name, Some(&id), "reading it back"))
                })
                .collect()
        }
    }
}
