//! The attributes API of an object: `POST /v2/objects/{object}/attributes` creates a custom
//! attribute (`{"data": {title, description, api_slug, type, is_required, is_unique,
//! is_multiselect, config}}` in, `{"data": Attribute}` out) and `GET` lists them all.
//! Records then take the attribute like a standard one; slugs never created stay refused
//! (`value_not_found`). Definitions live in the store in Attio's `Attribute` shape.

use std::sync::{Mutex, OnceLock};

use super::*;

/// Attribute types a custom attribute may have here: the ones whose values the sandbox
/// checks and stores (others get `validation_type`, naming these).
const TYPES: [Kind; 7] = [
    Kind::Text,
    Kind::Number,
    Kind::Checkbox,
    Kind::Currency,
    Kind::Domain,
    Kind::Email,
    Kind::Phone,
];

/// Custom attributes are served through the same `&'static Attribute` as the standard
/// ones. Each distinct definition is allocated once for the life of the process (a test
/// declares a handful; reading, and declaring it again in another sandbox, reuse it).
fn intern(slug: &str, kind: Kind, multi: bool, unique: bool, required: bool) -> &'static Attribute {
    static INTERNED: OnceLock<Mutex<Vec<&'static Attribute>>> = OnceLock::new();
    let mut interned = INTERNED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let same = |a: &&&'static Attribute| {
        a.slug == slug
            && a.kind == kind
            && (a.multi, a.unique, a.required) == (multi, unique, required)
    };
    if let Some(existing) = interned.iter().find(same) {
        return existing;
    }
    let attribute = Attribute {
        slug: Box::leak(slug.to_owned().into_boxed_str()),
        kind,
        multi,
        unique,
        required,
    };
    let leaked: &'static Attribute = Box::leak(Box::new(attribute));
    interned.push(leaked);
    leaked
}

/// The kind of an Attio type name, among [`TYPES`].
fn kind_of(type_name: &str) -> Option<Kind> {
    TYPES.into_iter().find(|k| k.type_name() == type_name)
}

/// The custom attributes declared on `object`, oldest first.
pub(super) fn custom(store: &Store, object: &Object) -> Vec<&'static Attribute> {
    store
        .custom_fields(object.slug)
        .iter()
        .filter_map(|definition| {
            let flag = |key: &str| definition.get(key).and_then(Value::as_bool) == Some(true);
            let slug = definition.get("api_slug").and_then(Value::as_str)?;
            let kind = definition
                .get("type")
                .and_then(Value::as_str)
                .and_then(kind_of)?;
            Some(intern(
                slug,
                kind,
                flag("is_multiselect"),
                flag("is_unique"),
                flag("is_required"),
            ))
        })
        .collect()
}

/// An attribute of `object` by slug or attribute id: standard, or one of its `custom` ones.
pub(super) fn find(
    object: &Object,
    custom: &[&'static Attribute],
    key: &str,
) -> Option<&'static Attribute> {
    object.attribute(key).or_else(|| {
        custom
            .iter()
            .copied()
            .find(|a| a.slug == key || object.attribute_id(a).to_string() == key)
    })
}

/// An attribute in Attio's read shape.
fn definition(
    object: &Object,
    attribute: &Attribute,
    title: &str,
    description: &Value,
    system: bool,
) -> Value {
    json!({
        "id": {
            "workspace_id": workspace_id().to_string(),
            "object_id": object.id().to_string(),
            "attribute_id": object.attribute_id(attribute).to_string(),
        },
        "title": title,
        "description": description,
        "api_slug": attribute.slug,
        "type": attribute.kind.type_name(),
        "is_system_attribute": system,
        "is_writable": true,
        "is_required": attribute.required,
        "is_unique": attribute.unique,
        "is_multiselect": attribute.multi,
        "is_default_value_enabled": false,
        "is_archived": false,
        "default_value": null,
        "relationship": null,
        "created_at": timestamp(Utc::now().trunc_subsecs(6)),
        "config": {
            "currency": {"default_currency_code": null, "display_type": null},
            "record_reference": {"allowed_object_ids": null},
        },
    })
}

/// A checked create body.
struct AttributeInput {
    title: String,
    description: Value,
    attribute: &'static Attribute,
}

fn parse_input(body: &[u8]) -> Result<AttributeInput, Reply> {
    let shape = |detail: &str| {
        invalid(
            "validation_type",
            &format!("Body payload validation error: {detail}"),
        )
    };
    let body = parse_json(body).map_err(|e| {
        shape(&format!(
            "invalid JSON ({} at line {} column {}).",
            e.reason, e.line, e.column
        ))
    })?;
    let data = body
        .get("data")
        .and_then(Value::as_object)
        .ok_or_else(|| shape("data must be an object."))?;
    let text = |key: &str| data.get(key).and_then(Value::as_str);
    let flag = |key: &str| {
        data.get(key)
            .and_then(Value::as_bool)
            .ok_or_else(|| shape(&format!("{key} must be a boolean.")))
    };
    let title = text("title").ok_or_else(|| shape("title must be a string."))?;
    let slug = text("api_slug").ok_or_else(|| shape("api_slug must be a string."))?;
    let description = match data.get("description") {
        Some(d @ (Value::String(_) | Value::Null)) => d.clone(),
        _ => return Err(shape("description must be a string or null.")),
    };
    if !data.get("config").is_some_and(Value::is_object) {
        return Err(shape("config must be an object."));
    }
    let type_name = text("type").ok_or_else(|| shape("type must be a string."))?;
    let kind = kind_of(type_name).ok_or_else(|| {
        let supported: Vec<&str> = TYPES.iter().map(|k| k.type_name()).collect();
        shape(&format!(
            "type \"{type_name}\" is not one the sandbox serves ({}).",
            supported.join(", ")
        ))
    })?;
    let valid_slug = slug.starts_with(|c: char| c.is_ascii_lowercase())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid_slug {
        return Err(shape("api_slug must be snake case."));
    }
    let (multi, unique, required) = (
        flag("is_multiselect")?,
        flag("is_unique")?,
        flag("is_required")?,
    );
    Ok(AttributeInput {
        title: title.to_owned(),
        description,
        attribute: intern(slug, kind, multi, unique, required),
    })
}

/// Stores a new custom attribute of `object`, or Attio's 409 when its slug is taken.
fn declare(store: &mut Store, object: &Object, input: AttributeInput) -> Result<Value, Reply> {
    let custom = custom(store, object);
    if find(object, &custom, input.attribute.slug).is_some() {
        return Err(error(
            StatusCode::CONFLICT,
            "invalid_request_error",
            "slug_conflict",
            "An attribute with the same API slug already exists on this object. Please choose a different API slug.",
        ));
    }
    let definition = definition(
        object,
        input.attribute,
        &input.title,
        &input.description,
        false,
    );
    store.declare_custom_field(object.slug, definition.clone());
    Ok(definition)
}

/// `POST /v2/objects/{object}/attributes`
pub(super) async fn create(
    State(state): State<SandboxState>,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Reply {
    let Ok(Path(key)) = path else {
        return Attio::unknown_path();
    };
    let object = match path_object(&key) {
        Ok(object) => object,
        Err(response) => return response,
    };
    let input = match parse_input(&body) {
        Ok(input) => input,
        Err(response) => return response,
    };
    state.with_store(|store| match declare(store, object, input) {
        Ok(definition) => reply(StatusCode::OK, json!({ "data": definition })),
        Err(response) => response,
    })
}

/// `GET /v2/objects/{object}/attributes`: the standard attributes, then the custom ones.
pub(super) async fn list(
    State(state): State<SandboxState>,
    path: Result<Path<String>, PathRejection>,
) -> Reply {
    let Ok(Path(key)) = path else {
        return Attio::unknown_path();
    };
    let object = match path_object(&key) {
        Ok(object) => object,
        Err(response) => return response,
    };
    state.with_store(|store| {
        let standard = object
            .attributes
            .iter()
            .map(|a| definition(object, a, a.slug, &Value::Null, true));
        let declared = store.custom_fields(object.slug).iter().cloned();
        reply(
            StatusCode::OK,
            json!({ "data": standard.chain(declared).collect::<Vec<_>>() }),
        )
    })
}

/// What `Sandbox::declare_custom_field` creates: a single-value text attribute, as the
/// attributes API would with `type: text`.
pub(super) fn declare_text(store: &mut Store, object: &str, slug: &str) -> Result<(), String> {
    let object = super::object(object).ok_or_else(|| format!("Attio has no object `{object}`"))?;
    let body = json!({"data": {
        "title": slug, "description": null, "api_slug": slug, "type": "text",
        "is_required": false, "is_unique": false, "is_multiselect": false, "config": {},
    }});
    parse_input(body.to_string().as_bytes())
        .and_then(|input| declare(store, object, input))
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
