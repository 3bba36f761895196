//! `POST /crm/v3/objects/{objectType}/batch/create` and `…/batch/update`: up to 100
//! inputs per request. Each input is checked as its single-record endpoint checks it;
//! inputs that fail are listed in `errors` (207, named by the input's
//! `objectWriteTraceId` or by id) while the others are written. A contact email that
//! already exists fails the whole create with the single endpoint's 409, as HubSpot
//! does for duplicates in a batch. Results are returned newest first: HubSpot does not
//! promise request order, so a client must match them by tag or id.

use super::*;

/// The most inputs one batch request takes.
const BATCH_MAX: usize = 100;

/// The `inputs` array of a batch body, or HubSpot's 400.
fn batch_inputs(body: &Bytes, input_type: &str) -> Result<Vec<Value>, Reply> {
    let body = malformed_json(body)?;
    let inputs = match body.get("inputs") {
        Some(Value::Array(inputs)) => inputs.clone(),
        _ => {
            return Err(invalid_input(&format!(
                "Cannot build BatchInput{input_type}, some of required attributes are not set [inputs]"
            )));
        }
    };
    if inputs.is_empty() {
        return Err(validation_error("inputs must not be empty"));
    }
    if inputs.len() > BATCH_MAX {
        return Err(validation_error(format!(
            "Batch input size {} exceeds the maximum of {BATCH_MAX}",
            inputs.len()
        )));
    }
    Ok(inputs)
}

/// A per-input error of a 207 (HubSpot's `StandardError`, whose `errors` and `links` are
/// required members), naming its input through `context`.
fn input_error(category: &str, refusal: Refusal, context: Value) -> Value {
    json!({
        "status": "error",
        "category": category,
        "message": refusal.message,
        "context": context,
        "errors": refusal.details,
        "links": {},
    })
}

/// What a per-input error repeats of a rejected single-record check: its message and its
/// `errors` details (one per failed property; none for other refusals).
struct Refusal {
    message: String,
    details: Vec<Value>,
}

impl Refusal {
    fn of(reply: &Reply) -> Refusal {
        let body = reply.body.as_ref();
        let message = body
            .and_then(|body| body.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("invalid input")
            .to_string();
        let details = body
            .and_then(|body| body.get("errors"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Refusal { message, details }
    }

    fn message(message: String) -> Refusal {
        Refusal {
            message,
            details: Vec::new(),
        }
    }
}

/// 201/200 when every input went through, 207 with `errors` otherwise.
fn batch_reply(ok: StatusCode, results: Vec<Value>, errors: Vec<Value>) -> Reply {
    let now = timestamp(Utc::now());
    let mut body = json!({
        "status": "COMPLETE",
        "results": results,
        "requestedAt": now,
        "startedAt": now,
        "completedAt": now,
    });
    if errors.is_empty() {
        return reply(ok, body);
    }
    body["numErrors"] = errors.len().into();
    body["errors"] = Value::Array(errors);
    reply(StatusCode::MULTI_STATUS, body)
}

/// The object type of a batch path and the body's inputs, or HubSpot's error.
fn batch_request(
    path: Result<Path<String>, PathRejection>,
    body: &Bytes,
    input_type: &str,
) -> Result<(&'static ObjectType, Vec<Value>), Reply> {
    let Ok(Path(type_name)) = path else {
        return Err(HubSpot::unknown_path());
    };
    let ty = object_type(&type_name).ok_or_else(|| unknown_object_type(&type_name))?;
    let inputs = batch_inputs(body, input_type)?;
    if let Some(refusal) = inputs.iter().find_map(|i| binding_error(ty, i, input_type)) {
        return Err(refusal);
    }
    Ok((ty, inputs))
}

/// HubSpot binds the whole body before it looks at any input, so an input whose JSON types
/// are not the document's (not an object; a non-string `objectWriteTraceId`, `id` or
/// property value; `properties` or `associations` of the wrong type) fails the whole request
/// with the single endpoint's 400. A property it does not know, or a string value it
/// refuses, fails that input alone (207).
fn binding_error(ty: &ObjectType, input: &Value, input_type: &str) -> Option<Reply> {
    let Value::Object(fields) = input else {
        return Some(invalid_input(&format!(
            "Cannot construct instance of `{input_type}` from a non-object value"
        )));
    };
    for key in ["objectWriteTraceId", "id", "idProperty"] {
        if fields.get(key).is_some_and(|v| !v.is_string()) {
            return Some(invalid_input(&format!(
                "Cannot deserialize value of type `java.lang.String` from non-string value (through reference chain: {input_type}[\"{key}\"])"
            )));
        }
    }
    let properties = match body_properties(fields, input_type) {
        Ok(Some(properties)) => properties,
        Ok(None) => {
            return Some(invalid_input(&format!(
                "Cannot build {input_type}, some of required attributes are not set [properties]"
            )));
        }
        Err(refusal) => return Some(refusal),
    };
    let wrong: Vec<PropertyError> = properties
        .iter()
        .filter(|(_, value)| !value.is_string())
        .map(|(name, value)| wrong_value_type(name, value))
        .collect();
    if !wrong.is_empty() {
        return Some(property_errors(&wrong));
    }
    parse_associations(ty, fields.get("associations")).err()
}

/// `POST /crm/v3/objects/{objectType}/batch/create`
pub(super) async fn create(
    State(state): State<SandboxState>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Reply {
    let (ty, inputs) = match batch_request(path, &body, "SimplePublicObjectBatchInputForCreate") {
        Ok(request) => request,
        Err(response) => return response,
    };
    // Each input is checked as the single create checks it; a failing one is listed in
    // `errors` under its tag and the others go on.
    let custom = state.with_store(|store| store.custom_fields(ty.name).to_vec());
    let mut valid = Vec::new();
    let mut errors = Vec::new();
    for input in &inputs {
        let tag = input
            .get("objectWriteTraceId")
            .and_then(Value::as_str)
            .map(str::to_string);
        match parse_create(ty, &custom, input) {
            Ok((properties, associations)) => valid.push((tag, properties, associations)),
            Err(refusal) => {
                let context = json!({ "objectWriteTraceId": tag.iter().collect::<Vec<_>>() });
                errors.push(input_error(
                    "VALIDATION_ERROR",
                    Refusal::of(&refusal),
                    context,
                ));
            }
        }
    }
    state.with_store(|store| {
        // A duplicate email, with a stored contact or within the batch, fails the whole
        // request before anything is written.
        if ty.name == "contacts" {
            let mut seen: Vec<&str> = Vec::new();
            for (_, properties, _) in &valid {
                let Some(email) = properties.get("email") else {
                    continue;
                };
                if let Some(existing) = contact_with_email(store, email, None) {
                    return duplicate_contact(existing);
                }
                if seen.iter().any(|e| e.eq_ignore_ascii_case(email)) {
                    return error(
                        StatusCode::CONFLICT,
                        Some("CONFLICT"),
                        format!("Duplicate value {email} for unique property email in this batch"),
                        Map::new(),
                    );
                }
                seen.push(email);
            }
        }
        let mut results = Vec::new();
        for (tag, properties, associations) in valid {
            let created = insert(store, ty, properties, &associations);
            match created.body {
                Some(mut record) if created.status == StatusCode::CREATED => {
                    if let Some(tag) = tag {
                        record["objectWriteTraceId"] = tag.into();
                    }
                    results.push(record);
                }
                _ => {
                    let context = json!({ "objectWriteTraceId": tag.iter().collect::<Vec<_>>() });
                    errors.push(input_error(
                        "VALIDATION_ERROR",
                        Refusal::of(&created),
                        context,
                    ));
                }
            }
        }
        results.reverse();
        batch_reply(StatusCode::CREATED, results, errors)
    })
}

/// `POST /crm/v3/objects/{objectType}/batch/update`
pub(super) async fn update(
    State(state): State<SandboxState>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Reply {
    let (ty, inputs) = match batch_request(path, &body, "SimplePublicObjectBatchInput") {
        Ok(request) => request,
        Err(response) => return response,
    };
    state.with_store(|store| {
        let mut results = Vec::new();
        let mut errors = Vec::new();
        for input in &inputs {
            let id = match input.get("id") {
                Some(Value::String(id)) => id.clone(),
                _ => {
                    return invalid_input(
                        "Cannot build SimplePublicObjectBatchInput, some of required attributes are not set [id]",
                    );
                }
            };
            let context = json!({ "ids": [id] });
            let Some(Value::Object(properties)) = input.get("properties") else {
                return invalid_input(
                    "Cannot build SimplePublicObjectBatchInput, some of required attributes are not set [properties]",
                );
            };
            let custom = store.custom_fields(ty.name);
            let properties = match validate_properties(ty, custom, properties) {
                Ok(properties) => properties,
                Err(problems) => {
                    let refusal = Refusal::of(&property_errors(&problems));
                    errors.push(input_error("VALIDATION_ERROR", refusal, context));
                    continue;
                }
            };
            if let Some(email) = properties
                .get("email")
                .filter(|e| ty.name == "contacts" && !e.is_empty())
                && let Some(existing) = contact_with_email(store, email, Some(&id))
            {
                let refusal = Refusal::of(&duplicate_contact(existing));
                errors.push(input_error("CONFLICT", refusal, context));
                continue;
            }
            let Some(record) = store.get_mut(ty.name, &id) else {
                errors.push(input_error(
                    "OBJECT_NOT_FOUND",
                    Refusal::message(format!(
                        "Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.",
                        ty.name.to_uppercase()
                    )),
                    context,
                ));
                continue;
            };
            for (name, value) in properties {
                if value.is_empty() {
                    record.fields.remove(&name);
                } else {
                    record.fields.insert(name, Value::String(value));
                }
            }
            record.updated_at = modified_now(record.updated_at);
            results.push(render(ty, record, &Selection::Stored));
        }
        results.reverse();
        batch_reply(StatusCode::OK, results, errors)
    })
}
