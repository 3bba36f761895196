//! sObject Collections: `POST` and `PATCH /composite/sobjects` create or update up to
//! 200 records of any types in one request. Each record is checked and written as its
//! single-record endpoint would; the answer is 200 with one SaveResult per record, in
//! request order, even when some failed (their errors use `statusCode`, not the
//! single-record `errorCode`). With `allOrNone: true`, one failure writes nothing and
//! every other record reports `ALL_OR_NONE_OPERATION_ROLLED_BACK`.

use super::*;

/// The most records one collection request takes.
const COLLECTION_MAX: usize = 200;

/// A collection body: `allOrNone` and the records, or the whole request's 400.
fn collection(body: &[u8]) -> Result<(bool, Vec<Map<String, Value>>), Reply> {
    let body = parse_json(body).map_err(|e| {
        bad_request(
            "JSON_PARSER_ERROR",
            &format!("{} at [line:{}, column:{}]", e.reason, e.line, e.column),
            None,
        )
    })?;
    let all_or_none = body
        .get("allOrNone")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let Some(records) = body.get("records").and_then(Value::as_array) else {
        return Err(bad_request(
            "INVALID_FIELD",
            "The request body must have a records array",
            None,
        ));
    };
    if records.len() > COLLECTION_MAX {
        return Err(bad_request(
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
            None,
        ));
    }
    let mut parsed = Vec::with_capacity(records.len());
    for record in records {
        match record {
            Value::Object(record) => parsed.push(record.clone()),
            other => return Err(coercion_error("SObject", other)),
        }
    }
    Ok((all_or_none, parsed))
}

/// The sObject a collection record names in `attributes.type`.
fn record_type(
    schema: &[&'static SObject],
    record: &Map<String, Value>,
) -> Result<&'static SObject, Value> {
    let name = record
        .get("attributes")
        .and_then(|a| a.get("type"))
        .and_then(Value::as_str);
    match name.and_then(|name| describe::find(schema, name)) {
        Some(sobject) => Ok(sobject),
        None => Err(item_error(
            "INVALID_TYPE",
            &format!(
                "sObject type '{}' is not supported.",
                name.unwrap_or_default()
            ),
            &[],
        )),
    }
}

fn item_error(code: &str, message: &str, fields: &[&str]) -> Value {
    json!({"success": false, "errors": [{"statusCode": code, "message": message, "fields": fields}]})
}

/// A single-record failure (`[{errorCode, message, fields}]`) as a collection result.
fn as_item_error(reply: &Reply) -> Value {
    let first = reply.body.as_ref().and_then(|body| body.get(0));
    let text = |key: &str| {
        first
            .and_then(|e| e.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let fields = first
        .and_then(|e| e.get("fields"))
        .cloned()
        .unwrap_or_else(|| json!([]));
    json!({"success": false, "errors": [{"statusCode": text("errorCode"), "message": text("message"), "fields": fields}]})
}

fn rolled_back() -> Value {
    item_error(
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using AllOrNone header",
        &[],
    )
}

/// Answers 200 with `results`, or, under `allOrNone` with a failure among them, with
/// only the failures kept and every other record rolled back.
fn answer(all_or_none: bool, results: Vec<Value>) -> Reply {
    let failed = results.iter().any(|r| r["success"] == false);
    if all_or_none && failed {
        let results = results
            .into_iter()
            .map(|r| {
                if r["success"] == false {
                    r
                } else {
                    rolled_back()
                }
            })
            .collect();
        return reply(StatusCode::OK, Value::Array(results));
    }
    reply(StatusCode::OK, Value::Array(results))
}

/// A collection request's API version, `allOrNone` and records.
type CollectionRequest = (String, bool, Vec<Map<String, Value>>);

/// The parts of a collection request, or the 404 / 400 Salesforce answers instead.
fn request(
    path: Result<Path<String>, PathRejection>,
    body: &[u8],
) -> Result<CollectionRequest, Reply> {
    let Ok(Path(version)) = path else {
        return Err(not_found());
    };
    if !valid_version(&version) {
        return Err(not_found());
    }
    let (all_or_none, records) = collection(body)?;
    Ok((version, all_or_none, records))
}

/// `POST /services/data/{version}/composite/sobjects`
pub(super) async fn create(
    State(state): State<SandboxState>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Reply {
    let (version, all_or_none, records) = match request(path, &body) {
        Ok(parsed) => parsed,
        Err(response) => return response,
    };
    // Checks that need no store come first, for every record.
    let schema = state.with_store(|store| describe::schema(store));
    let mut checked = Vec::with_capacity(records.len());
    for record in &records {
        if record.contains_key("id") {
            checked.push(Err(item_error(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                "cannot specify Id in an insert call",
                &["Id"],
            )));
            continue;
        }
        checked.push(record_type(&schema, record).and_then(|sobject| {
            parse_fields(sobject, record, Write::Insert)
                .map(|fields| (sobject, fields))
                .map_err(|reply| as_item_error(&reply))
        }));
    }
    state.with_store(|store| {
        if all_or_none {
            // Nothing is written unless every record would be.
            let mut results = Vec::new();
            let mut failed = false;
            for entry in &checked {
                let result = match entry {
                    Err(error) => error.clone(),
                    Ok((sobject, fields)) => {
                        let mut fields = fields.clone();
                        match resolve_references(store, sobject, &mut fields) {
                            Err(reply) => as_item_error(&reply),
                            Ok(()) => match duplicate_contact(store, sobject, &fields, None) {
                                Some(existing) => {
                                    as_item_error(&duplicates_detected(&version, &existing))
                                }
                                None => json!({"success": true}),
                            },
                        }
                    }
                };
                failed |= result["success"] == false;
                results.push(result);
            }
            if failed {
                return answer(true, results);
            }
        }
        let results = checked
            .into_iter()
            .map(|entry| match entry {
                Err(error) => error,
                Ok((sobject, fields)) => {
                    let written = insert(store, sobject, &version, fields);
                    match (written.status, written.body) {
                        (StatusCode::CREATED, Some(body)) => body,
                        (status, body) => as_item_error(&Reply { status, body }),
                    }
                }
            })
            .collect();
        answer(all_or_none, results)
    })
}

/// `PATCH /services/data/{version}/composite/sobjects`
pub(super) async fn update(
    State(state): State<SandboxState>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Reply {
    let (version, all_or_none, records) = match request(path, &body) {
        Ok(parsed) => parsed,
        Err(response) => return response,
    };
    let schema = state.with_store(|store| describe::schema(store));
    let mut checked = Vec::with_capacity(records.len());
    for mut record in records {
        let id = record
            .remove("id")
            .and_then(|id| id.as_str().and_then(canonical_id));
        let Some(id) = id else {
            checked.push(Err(item_error(
                "MISSING_ARGUMENT",
                "Id not specified in an update call",
                &[],
            )));
            continue;
        };
        checked.push(record_type(&schema, &record).and_then(|sobject| {
            parse_fields(sobject, &record, Write::Update)
                .map(|fields| (sobject, id, fields))
                .map_err(|reply| as_item_error(&reply))
        }));
    }
    state.with_store(|store| {
        if all_or_none
            && checked.iter().any(|entry| match entry {
                Err(_) => true,
                Ok((sobject, id, _)) => store.get(sobject.name, id).is_none(),
            })
        {
            let results = checked
                .iter()
                .map(|entry| match entry {
                    Err(error) => error.clone(),
                    Ok((sobject, id, _)) if store.get(sobject.name, id).is_none() => missing(id),
                    Ok(_) => json!({"success": true}),
                })
                .collect();
            return answer(true, results);
        }
        let results = checked
            .into_iter()
            .map(|entry| match entry {
                Err(error) => error,
                Ok((sobject, id, fields)) => {
                    if store.get(sobject.name, &id).is_none() {
                        return missing(&id);
                    }
                    let written = apply_update(store, sobject, &version, &id, fields);
                    if written.status == StatusCode::NO_CONTENT {
                        json!({"id": id, "success": true, "errors": []})
                    } else {
                        as_item_error(&written)
                    }
                }
            })
            .collect();
        answer(all_or_none, results)
    })
}

fn missing(id: &str) -> Value {
    item_error(
        "ENTITY_IS_DELETED",
        &format!("entity is deleted or does not exist: {id}"),
        &[],
    )
}
