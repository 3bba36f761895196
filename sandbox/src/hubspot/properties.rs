//! The CRM properties API: `POST /crm/v3/properties/{objectType}` creates a custom property
//! (HubSpot's `PropertyCreate` in, `Property` out, 201) and `GET …/{propertyName}` reads one.
//! Records then take the property like a built-in one; names never declared stay refused
//! with `PROPERTY_DOESNT_EXIST`. Definitions live in the store in HubSpot's `Property` shape.

use super::*;

/// Property types HubSpot accepts, and the field types (form controls) each may use.
const TYPES: &[(&str, &[&str])] = &[
    (
        "string",
        &["text", "textarea", "html", "phonenumber", "file"],
    ),
    ("number", &["number", "calculation_equation"]),
    ("date", &["date"]),
    ("datetime", &["date"]),
    (
        "enumeration",
        &["select", "radio", "checkbox", "booleancheckbox"],
    ),
    ("bool", &["booleancheckbox"]),
];

/// A property of `ty` by name: built in, or declared through this API.
pub(super) enum PropertyRef<'a> {
    Builtin(&'a Property),
    Custom(&'a Value),
}

/// The property `name` of `ty`: built in first, then the declared `custom` ones.
pub(super) fn find<'a>(
    ty: &'a ObjectType,
    custom: &'a [Value],
    name: &str,
) -> Option<PropertyRef<'a>> {
    if let Some(property) = ty.property(name) {
        return Some(PropertyRef::Builtin(property));
    }
    custom
        .iter()
        .find(|d| d.get("name").and_then(Value::as_str) == Some(name))
        .map(PropertyRef::Custom)
}

/// The `type` of a custom property's definition.
pub(super) fn custom_type(definition: &Value) -> &str {
    definition
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("string")
}

/// Checks one non-empty value of a custom property as HubSpot checks its type.
pub(super) fn check_custom(
    definition: &Value,
    text: &str,
) -> Result<String, (&'static str, String)> {
    let listed = |definition: &Value| -> Vec<String> {
        definition
            .get("options")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| o.get("value").and_then(Value::as_str).map(str::to_owned))
            .collect()
    };
    match custom_type(definition) {
        "number" => check_value(Kind::Number, text),
        "date" | "datetime" => check_value(Kind::DateTime, text),
        "bool" | "enumeration" => {
            let options = listed(definition);
            // Multiple checkboxes take several options separated by `;`.
            if text
                .split(';')
                .all(|part| options.iter().any(|o| o == part))
            {
                Ok(text.to_owned())
            } else {
                Err((
                    "INVALID_OPTION",
                    format!(
                        "{text} was not one of the allowed options: [{}]",
                        options.join(", ")
                    ),
                ))
            }
        }
        _ => check_value(Kind::Text, text),
    }
}

/// `POST /crm/v3/properties/{objectType}`
pub(super) async fn create(
    State(state): State<SandboxState>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Reply {
    let Ok(Path(type_name)) = path else {
        return HubSpot::unknown_path();
    };
    let Some(ty) = object_type(&type_name) else {
        return unknown_object_type(&type_name);
    };
    let input = match malformed_json(&body).and_then(|body| parse_input(&body)) {
        Ok(input) => input,
        Err(response) => return response,
    };
    state.with_store(|store| match declare(store, ty, input) {
        Ok(definition) => reply(StatusCode::CREATED, definition),
        Err(response) => response,
    })
}

/// `GET /crm/v3/properties/{objectType}/{propertyName}`
pub(super) async fn read(
    State(state): State<SandboxState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Reply {
    let Ok(Path((type_name, name))) = path else {
        return HubSpot::unknown_path();
    };
    let Some(ty) = object_type(&type_name) else {
        return unknown_object_type(&type_name);
    };
    state.with_store(
        |store| match find(ty, store.custom_fields(ty.name), &name) {
            Some(PropertyRef::Custom(definition)) => reply(StatusCode::OK, definition.clone()),
            Some(PropertyRef::Builtin(property)) => reply(StatusCode::OK, builtin(ty, property)),
            None => error(
                StatusCode::NOT_FOUND,
                Some("OBJECT_NOT_FOUND"),
                format!(
                    "Unable to find property {name} on object type {}",
                    ty.type_id
                ),
                Map::new(),
            ),
        },
    )
}

/// A checked `PropertyCreate`: the members HubSpot requires, each of the right type.
pub(super) struct PropertyInput {
    name: String,
    label: String,
    kind: String,
    field_type: String,
    group_name: String,
    description: String,
    options: Vec<Value>,
    has_unique_value: bool,
}

fn parse_input(body: &Value) -> Result<PropertyInput, Reply> {
    let Value::Object(body) = body else {
        return Err(invalid_input(
            "Cannot construct instance of `PropertyCreate` from a non-object value",
        ));
    };
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let required = ["name", "label", "type", "fieldType", "groupName"];
    let missing: Vec<&str> = required.into_iter().filter(|k| text(k).is_none()).collect();
    if !missing.is_empty() {
        return Err(invalid_input(&format!(
            "Cannot build PropertyCreate, some of required attributes are not set [{}]",
            missing.join(", ")
        )));
    }
    let input = PropertyInput {
        name: text("name").unwrap_or_default(),
        label: text("label").unwrap_or_default(),
        kind: text("type").unwrap_or_default(),
        field_type: text("fieldType").unwrap_or_default(),
        group_name: text("groupName").unwrap_or_default(),
        description: text("description").unwrap_or_default(),
        options: match body.get("options") {
            None => Vec::new(),
            Some(Value::Array(options)) if options.iter().all(valid_option) => options.clone(),
            Some(_) => {
                return Err(invalid_input(
                    "Cannot build OptionInput, some of required attributes are not set [label, value, displayOrder, hidden]",
                ));
            }
        },
        has_unique_value: body
            .get("hasUniqueValue")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    };
    check_input(&input)?;
    Ok(input)
}

/// An option needs a string `label` and `value`.
fn valid_option(option: &Value) -> bool {
    option.get("label").is_some_and(Value::is_string)
        && option.get("value").is_some_and(Value::is_string)
}

fn check_input(input: &PropertyInput) -> Result<(), Reply> {
    let valid_name = input.name.starts_with(|c: char| c.is_ascii_lowercase())
        && input
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid_name {
        return Err(validation_error(format!(
            "Property name '{}' is invalid: names start with a lower-case letter and hold only lower-case letters, digits and underscores.",
            input.name
        )));
    }
    let Some((_, field_types)) = TYPES.iter().find(|(t, _)| *t == input.kind) else {
        let names: Vec<&str> = TYPES.iter().map(|(t, _)| *t).collect();
        return Err(invalid_input(&format!(
            "Cannot deserialize value of type `PropertyType` from String \"{}\": not one of the values accepted for Enum class: [{}]",
            input.kind,
            names.join(", ")
        )));
    };
    if !field_types.contains(&input.field_type.as_str()) {
        return Err(validation_error(format!(
            "Property type {} does not support field type {}.",
            input.kind, input.field_type
        )));
    }
    if matches!(input.kind.as_str(), "enumeration" | "bool") && input.options.is_empty() {
        return Err(validation_error(format!(
            "Property {} of type {} needs at least one option.",
            input.name, input.kind
        )));
    }
    Ok(())
}

/// Stores a new custom property of `ty` and returns its definition, or HubSpot's 409 when
/// the name is taken (built in or declared before).
pub(super) fn declare(
    store: &mut Store,
    ty: &ObjectType,
    input: PropertyInput,
) -> Result<Value, Reply> {
    let taken = find(ty, store.custom_fields(ty.name), &input.name).is_some()
        || ty.system().contains(&input.name.as_str());
    if taken {
        return Err(error(
            StatusCode::CONFLICT,
            Some("OBJECT_ALREADY_EXISTS"),
            format!("Property named '{}' already exists.", input.name),
            Map::new(),
        ));
    }
    let now = timestamp(Utc::now());
    let options: Vec<Value> = input
        .options
        .iter()
        .enumerate()
        .map(|(order, option)| {
            json!({
                "label": option["label"],
                "value": option["value"],
                "description": option.get("description").cloned().unwrap_or_else(|| json!("")),
                "displayOrder": option.get("displayOrder").cloned().unwrap_or_else(|| json!(order)),
                "hidden": option.get("hidden").cloned().unwrap_or(json!(false)),
            })
        })
        .collect();
    let definition = json!({
        "name": input.name,
        "label": input.label,
        "type": input.kind,
        "fieldType": input.field_type,
        "description": input.description,
        "groupName": input.group_name,
        "options": options,
        "displayOrder": -1,
        "calculated": false,
        "externalOptions": false,
        "hasUniqueValue": input.has_unique_value,
        "hidden": false,
        "hubspotDefined": false,
        "modificationMetadata": {"archivable": true, "readOnlyDefinition": false, "readOnlyValue": false},
        "formField": false,
        "dataSensitivity": "non_sensitive",
        "archived": false,
        "createdAt": now,
        "updatedAt": now,
    });
    store.declare_custom_field(ty.name, definition.clone());
    Ok(definition)
}

/// What `Sandbox::declare_custom_field` creates: a single-line text property in the
/// object's default group, as the properties API would with `type: string, fieldType: text`.
pub(super) fn declare_text(store: &mut Store, object: &str, name: &str) -> Result<(), String> {
    let ty = object_type(object).ok_or_else(|| format!("HubSpot has no object type `{object}`"))?;
    let input = PropertyInput {
        name: name.to_owned(),
        label: name.to_owned(),
        kind: "string".into(),
        field_type: "text".into(),
        group_name: format!("{}information", ty.singular),
        description: String::new(),
        options: Vec::new(),
        has_unique_value: false,
    };
    check_input(&input)
        .and_then(|()| declare(store, ty, input))
        .map(|_| ())
        .map_err(|refusal| {
            refusal
                .body
                .as_ref()
                .and_then(|b| b.get("message"))
                .and_then(Value::as_str)
                .unwrap_or("refused")
                .to_owned()
        })
}

/// A built-in property's definition, as HubSpot lists its own.
fn builtin(ty: &ObjectType, property: &Property) -> Value {
    let (kind, field_type) = match property.kind {
        Kind::Text => ("string", "text"),
        Kind::Email => ("string", "text"),
        Kind::Number => ("number", "number"),
        Kind::DateTime => ("datetime", "date"),
        Kind::Options(_) => ("enumeration", "select"),
    };
    let options: Vec<Value> = match property.kind {
        Kind::Options(options) => options
            .iter()
            .enumerate()
            .map(|(order, (value, label))| {
                json!({"label": label, "value": value, "description": "", "displayOrder": order, "hidden": false})
            })
            .collect(),
        _ => Vec::new(),
    };
    json!({
        "name": property.name,
        "label": property.name,
        "type": kind,
        "fieldType": field_type,
        "description": "",
        "groupName": format!("{}information", ty.singular),
        "options": options,
        "displayOrder": -1,
        "calculated": false,
        "externalOptions": false,
        "hasUniqueValue": false,
        "hidden": false,
        "hubspotDefined": true,
        "modificationMetadata": {"archivable": false, "readOnlyDefinition": true, "readOnlyValue": false},
        "formField": true,
        "archived": false,
    })
}
