//! Actions by name: what the durable queue and the MCP server run. Each generated crate
//! has a [`Registry`] (`REGISTRY`) listing its unified actions and a function that
//! runs one by name with JSON arguments, checked like typed input.

use crate::{Connection, Error, FieldError, Runtime, ValidationErrors};
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// What an action does, for callers that treat kinds differently (the queue retries a
/// cut-off create through its upsert; MCP marks reads read-only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    Create,
    Get,
    Update,
    Delete,
    Upsert,
    Find,
    Link,
    List,
    /// An action that runs other actions (`composites:` in a unified model).
    Composite,
}

/// One action of a [`Registry`].
#[derive(Clone, Copy, Debug)]
pub struct ActionInfo {
    /// The function's name, e.g. `create_contact`.
    pub name: &'static str,
    /// One sentence from the YAML descriptions.
    pub description: &'static str,
    pub kind: ActionKind,
    /// The unified model it works on (`Contact`); empty for composites.
    pub model: &'static str,
    /// Providers that have it.
    pub providers: &'static [&'static str],
    /// Changes nothing in the provider.
    pub read_only: bool,
    /// The action that is safe to run again after this one was cut off (a create's
    /// upsert); `None` when running it again could duplicate a record.
    pub retry_as: Option<&'static str>,
    /// Names and one-line descriptions of the JSON arguments (see [`Registry::invoke`]).
    pub arguments: &'static str,
    /// The JSON Schema of the arguments [`Registry::invoke`] accepts for this action
    /// (the MCP tool's `inputSchema`), built from the generated types.
    pub input_schema: fn() -> Value,
    /// The JSON Schema of what [`Registry::invoke`] returns for this action: the record
    /// type, an array of records for lists, `null` or a record for finds, `null` for
    /// deletes and links.
    pub output_schema: fn() -> Value,
}

/// Runs the action `name` with JSON arguments and returns its output as JSON.
pub type InvokeFn =
    for<'a> fn(&'a Runtime, &'a Connection, &'a str, Value) -> BoxFuture<'a, Result<Value, Error>>;

/// Checks JSON arguments for the action `name` without running it: the validation
/// error `invoke` would return, or `Ok`.
pub type CheckFn = fn(&str, &Value) -> Result<(), Error>;

/// Runs the action `name` for many JSON arguments at once, through the provider's
/// batch endpoint where it has one; one outcome per argument, in order.
pub type BatchInvokeFn = for<'a> fn(
    &'a Runtime,
    &'a Connection,
    &'a str,
    Vec<Value>,
) -> BoxFuture<'a, Vec<Result<Value, Error>>>;

/// An action a provider can run for many inputs in one request (`batch:` in its
/// mapping), and how many one request takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchInfo {
    pub action: &'static str,
    pub provider: &'static str,
    pub max: usize,
}

/// The actions of one generated crate and the functions that check and run them by name.
#[derive(Clone, Copy)]
pub struct Registry {
    pub actions: &'static [ActionInfo],
    pub invoke: InvokeFn,
    pub check: CheckFn,
    /// The actions providers take in batches (the queue coalesces their jobs).
    pub batches: &'static [BatchInfo],
    pub invoke_batch: BatchInvokeFn,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field(
                "actions",
                &self.actions.iter().map(|a| a.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Registry {
    pub fn action(&self, name: &str) -> Option<&'static ActionInfo> {
        self.actions.iter().find(|action| action.name == name)
    }

    /// How many inputs of `action` one request to `provider` takes, when the provider
    /// has a batch endpoint for it.
    pub fn batch_size(&self, action: &str, provider: &str) -> Option<usize> {
        self.batches
            .iter()
            .find(|batch| batch.action == action && batch.provider == provider)
            .map(|batch| batch.max)
    }

    /// Runs `name` for every argument in `arguments` (as [`Registry::invoke`] takes
    /// them), in batch requests of the connection's provider where it has them and one
    /// by one otherwise. Each argument gets its own outcome, in order.
    pub async fn invoke_batch(
        &self,
        runtime: &Runtime,
        connection: &Connection,
        name: &str,
        arguments: Vec<Value>,
    ) -> Vec<Result<Value, Error>> {
        if self.batch_size(name, connection.provider()).is_none() {
            let mut outcomes = Vec::with_capacity(arguments.len());
            for argument in arguments {
                outcomes.push(self.invoke(runtime, connection, name, argument).await);
            }
            return outcomes;
        }
        (self.invoke_batch)(runtime, connection, name, arguments).await
    }

    /// The error [`Registry::invoke`] would refuse `arguments` with, found without
    /// running anything (the queue checks jobs when they are enqueued).
    pub fn check(&self, name: &str, arguments: &Value) -> Result<(), Error> {
        if self.action(name).is_none() {
            return Err(Error::UnknownAction {
                action: name.to_string(),
            });
        }
        (self.check)(name, arguments)
    }

    /// Runs `name` with `arguments`: the input object for creates and upserts,
    /// `{"id"}` for get and delete, `{"id", "patch"}` for updates, `{"<key>"}` for
    /// finds (`{"email": …}`), the two ids for links, `{"page_size", "modified_since",
    /// "limit"}` for lists (at most `limit` records, 100 by default). Arguments that do
    /// not fit are a validation error naming the field, before any request.
    pub async fn invoke(
        &self,
        runtime: &Runtime,
        connection: &Connection,
        name: &str,
        arguments: Value,
    ) -> Result<Value, Error> {
        if self.action(name).is_none() {
            return Err(Error::UnknownAction {
                action: name.to_string(),
            });
        }
        (self.invoke)(runtime, connection, name, arguments).await
    }
}

/// An action as a type, for calls by name that should still be checked by the
/// compiler: `queue.submit(&connection, typed::CreateContact, &input)` takes a
/// `ContactInput` and its job's output reads back as a `Contact`. Generated crates have
/// one per create, get, update, delete and upsert action and per composite, in their
/// `typed` module.
pub trait TypedAction {
    /// The action's name in the [`Registry`].
    const NAME: &'static str;
    /// What [`Registry::invoke`] takes for it, as a type.
    type Arguments: Serialize;
    /// What it returns.
    type Output: DeserializeOwned;
}

/// The arguments of actions on one record by id (`get_*`, `delete_*`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct IdArguments {
    pub id: String,
}

/// The arguments of `update_*`: the record's id and the fields to change.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct UpdateArguments<P> {
    pub id: String,
    pub patch: P,
}

/// The arguments of a list action.
#[derive(Clone, Debug, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArguments {
    /// Records per request to the provider (capped at the provider's maximum).
    #[serde(default)]
    pub page_size: Option<u32>,
    /// Only records modified at or after this instant (RFC 3339).
    #[serde(default)]
    pub modified_since: Option<chrono::DateTime<chrono::Utc>>,
    /// At most this many records (default 100, at most 10,000).
    #[serde(default)]
    pub limit: Option<usize>,
}

impl ListArguments {
    pub fn options(&self) -> crate::ListOptions {
        crate::ListOptions {
            page_size: self.page_size,
            modified_since: self.modified_since,
        }
    }

    pub fn limit(&self) -> usize {
        self.limit.unwrap_or(100).min(10_000)
    }
}

/// `arguments` as `T`, or a validation error naming the field that does not fit.
pub fn arguments<T: DeserializeOwned>(arguments: Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(arguments).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        // serde reports a missing field at its parent: name the field itself.
        let (field, message) = match inner
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
        {
            Some((name, _)) if path == "." => (name.to_string(), "is required".to_string()),
            Some((name, _)) => (format!("{path}.{name}"), "is required".to_string()),
            None if path == "." => ("(arguments)".to_string(), inner),
            None => (path, inner),
        };
        Error::Validation(ValidationErrors(vec![FieldError::new(field, message)]))
    })
}

/// The inputs of a batch that parse, and per argument `None` (it is among the inputs,
/// in order) or the error it was refused with.
pub fn batch_arguments<I>(
    arguments: Vec<Value>,
    parse: impl Fn(Value) -> Result<I, Error>,
) -> (Vec<I>, Vec<Option<Error>>) {
    let mut inputs = Vec::with_capacity(arguments.len());
    let mut slots = Vec::with_capacity(arguments.len());
    for argument in arguments {
        match parse(argument) {
            Ok(input) => {
                inputs.push(input);
                slots.push(None);
            }
            Err(error) => slots.push(Some(error)),
        }
    }
    (inputs, slots)
}

/// Each argument's outcome: its refusal from [`batch_arguments`], or the next result.
pub fn batch_outputs<T: Serialize>(
    slots: Vec<Option<Error>>,
    results: Vec<Result<T, Error>>,
) -> Vec<Result<Value, Error>> {
    let mut results = results.into_iter();
    slots
        .into_iter()
        .map(|slot| match slot {
            Some(error) => Err(error),
            None => match results.next() {
                Some(result) => result.and_then(output),
                None => Err(Error::Config {
                    connection: String::new(),
                    message: "a batch returned fewer outcomes than it had inputs".into(),
                }),
            },
        })
        .collect()
}

/// A required string argument `name` of an object.
pub fn string_argument(arguments: &Value, name: &str) -> Result<String, Error> {
    match arguments.get(name) {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(other) => Err(invalid(name, format!("must be a string, not {other}"))),
        None => Err(invalid(name, "is required".to_string())),
    }
}

fn invalid(field: &str, message: String) -> Error {
    Error::Validation(ValidationErrors(vec![FieldError::new(field, message)]))
}

/// An action's output as JSON.
pub fn output<T: Serialize>(value: T) -> Result<Value, Error> {
    serde_json::to_value(value).map_err(|error| Error::Config {
        connection: String::new(),
        message: format!("the output could not be written as JSON: {error}"),
    })
}

/// The first `limit` records of a list stream, as a JSON array.
pub async fn collect_list<T: Serialize>(
    mut stream: crate::RecordStream<'_, T>,
    limit: usize,
) -> Result<Value, Error> {
    use futures_util::StreamExt;
    let mut records = Vec::new();
    while records.len() < limit {
        match stream.next().await {
            Some(record) => records.push(output(record?)?),
            None => break,
        }
    }
    Ok(Value::Array(records))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Person {
        last_name: String,
        emails: Vec<Email>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Email {
        address: String,
    }

    fn problem(value: Value) -> String {
        match arguments::<Person>(value) {
            Err(error) => error.to_string(),
            Ok(person) => panic!("accepted {person:?}"),
        }
    }

    #[test]
    fn argument_errors_name_the_field() {
        assert_eq!(
            problem(serde_json::json!({"emails": []})),
            "invalid input: last_name: is required"
        );
        assert_eq!(
            problem(serde_json::json!({"last_name": "x", "emails": [{"address": 5}]})),
            "invalid input: emails[0].address: invalid type: integer `5`, expected a string"
        );
        assert_eq!(
            problem(serde_json::json!({"last_name": "x", "emails": [{}]})),
            "invalid input: emails[0].address: is required"
        );
        assert!(
            problem(serde_json::json!({"last_name": "x", "emails": [], "mail": 1}))
                .starts_with("invalid input: mail: unknown field `mail`"),
        );
        assert_eq!(
            problem(serde_json::json!("text")),
            "invalid input: (arguments): invalid type: string \"text\", expected struct Person"
        );
    }
}
