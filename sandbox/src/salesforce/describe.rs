//! Custom fields (`…__c`) and the sObject description that lists them:
//! `GET /services/data/{version}/sobjects/{sobject}/describe`.
//!
//! Salesforce creates custom fields through its Metadata/Tooling APIs, not the REST data
//! API the project uses, so the sandbox takes them from the test
//! (`Sandbox::declare_custom_field("Contact", "LinkedIn_URL__c")`). Declared fields are
//! stored in the describe's field shape; every handler then sees the sObject extended with
//! them, so they are written, read and queried like standard fields, while other unknown
//! names keep their `INVALID_FIELD` / `No such column` errors.

use std::sync::{Mutex, OnceLock};

use super::*;

/// Length of a custom text field declared without one (Salesforce's default for Text).
const TEXT_LENGTH: usize = 255;

/// The sObjects of `store`: the standard ones, each extended with its custom fields.
pub(super) fn schema(store: &Store) -> Vec<&'static SObject> {
    SOBJECTS
        .into_iter()
        .map(|base| with_custom(store, base))
        .collect()
}

/// An sObject of `schema` by name, ignoring case as URLs and SOQL do.
pub(super) fn find(schema: &[&'static SObject], name: &str) -> Option<&'static SObject> {
    schema
        .iter()
        .copied()
        .find(|s| s.name.eq_ignore_ascii_case(name))
}

/// `base` extended with the custom fields declared on it in `store` (`base` itself when none).
///
/// Handlers take `&'static SObject`, so each distinct extension is allocated once for the
/// life of the process and reused by every later request and sandbox that declares the
/// same fields (a test declares a handful).
pub(super) fn with_custom(store: &Store, base: &'static SObject) -> &'static SObject {
    let declared: Vec<(String, String, usize)> = store
        .custom_fields(base.name)
        .iter()
        .filter_map(|d| {
            let name = d.get("name")?.as_str()?.to_owned();
            let label = d.get("label")?.as_str()?.to_owned();
            let length = usize::try_from(d.get("length")?.as_u64()?).ok()?;
            Some((name, label, length))
        })
        .collect();
    if declared.is_empty() {
        return base;
    }
    type Extension = (&'static str, Vec<(String, String, usize)>, &'static SObject);
    static EXTENDED: OnceLock<Mutex<Vec<Extension>>> = OnceLock::new();
    let mut extended = EXTENDED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, _, sobject)) = extended
        .iter()
        .find(|(name, fields, _)| *name == base.name && *fields == declared)
    {
        return sobject;
    }
    let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
    let fields: Vec<Field> = base
        .fields
        .iter()
        .map(|f| Field {
            name: f.name,
            label: f.label,
            kind: f.kind,
            writable: f.writable,
        })
        .chain(declared.iter().map(|(name, label, length)| Field {
            name: leak(name),
            label: leak(label),
            kind: Kind::Text(*length),
            writable: true,
        }))
        .collect();
    let sobject: &'static SObject = Box::leak(Box::new(SObject {
        fields: Box::leak(fields.into_boxed_slice()),
        ..*base
    }));
    extended.push((base.name, declared, sobject));
    sobject
}

/// Declares custom text field `name` on `object`: an API name ending in `__c`, made of
/// letters, digits and single underscores, not taken on the sObject (ignoring case).
pub(super) fn declare_text(store: &mut Store, object: &str, name: &str) -> Result<(), String> {
    let sobject = find(&schema(store), object)
        .ok_or_else(|| format!("Salesforce has no sObject `{object}` here"))?;
    let Some(stem) = name.strip_suffix("__c") else {
        return Err("custom field API names end with `__c`".into());
    };
    let valid = stem.starts_with(|c: char| c.is_ascii_alphabetic())
        && !stem.ends_with('_')
        && !stem.contains("__")
        && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "`{stem}` must start with a letter and hold only letters, digits and single underscores"
        ));
    }
    if sobject.field(name).is_some() || system_field(name).is_some() {
        return Err(format!("{} already has a field `{name}`", sobject.name));
    }
    let label = stem.replace('_', " ");
    let definition = describe_field(name, &label, Kind::Text(TEXT_LENGTH), true, true);
    store.declare_custom_field(sobject.name, definition);
    Ok(())
}

/// One field of a describe.
fn describe_field(name: &str, label: &str, kind: Kind, writable: bool, custom: bool) -> Value {
    let (type_name, length) = match kind {
        Kind::Text(n) if n > TEXT_LENGTH => ("textarea", n),
        Kind::Text(n) => ("string", n),
        Kind::Email => ("email", 80),
        Kind::Phone => ("phone", 40),
        Kind::Url => ("url", 255),
        Kind::Picklist | Kind::RestrictedPicklist(_) => ("picklist", 255),
        Kind::Reference(_) => ("reference", 18),
        Kind::Int => ("int", 0),
        Kind::Double => ("double", 0),
        Kind::Date => ("date", 0),
        Kind::Bool => ("boolean", 0),
    };
    let reference_to: Vec<&str> = match kind {
        Kind::Reference(prefix) => SOBJECTS
            .iter()
            .filter(|s| s.prefix == prefix)
            .map(|s| s.name)
            .chain((prefix == USER_PREFIX).then_some("User"))
            .collect(),
        _ => Vec::new(),
    };
    json!({
        "name": name,
        "label": label,
        "type": type_name,
        "length": length,
        "custom": custom,
        "nillable": !matches!(kind, Kind::Bool),
        "createable": writable,
        "updateable": writable,
        "calculated": !writable,
        "referenceTo": reference_to,
        "restrictedPicklist": matches!(kind, Kind::RestrictedPicklist(_)),
    })
}

/// The system fields every record has, as a describe lists them.
fn system_fields() -> Vec<Value> {
    let system = |name: &str, label: &str, kind: &str| {
        json!({
            "name": name, "label": label, "type": kind, "length": if kind == "id" { 18 } else { 0 },
            "custom": false, "nillable": false, "createable": false, "updateable": false,
            "calculated": false, "referenceTo": if kind == "reference" { json!(["User"]) } else { json!([]) },
            "restrictedPicklist": false,
        })
    };
    vec![
        system("Id", "Record ID", "id"),
        system("IsDeleted", "Deleted", "boolean"),
        system("CreatedDate", "Created Date", "datetime"),
        system("CreatedById", "Created By ID", "reference"),
        system("LastModifiedDate", "Last Modified Date", "datetime"),
        system("LastModifiedById", "Last Modified By ID", "reference"),
        system("SystemModstamp", "System Modstamp", "datetime"),
    ]
}

/// `GET /services/data/{version}/sobjects/{sobject}/describe`
pub(super) async fn describe(
    State(state): State<SandboxState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Reply {
    let Ok(Path((version, name))) = path else {
        return not_found();
    };
    if !valid_version(&version) {
        return not_found();
    }
    state.with_store(|store| {
        let Some(sobject) = find(&schema(store), &name) else {
            return not_found();
        };
        let declared = store.custom_fields(sobject.name);
        let standard = sobject
            .fields
            .iter()
            .filter(|f| !declared.iter().any(|d| d.get("name") == Some(&json!(f.name))))
            .map(|f| describe_field(f.name, f.label, f.kind, f.writable, false));
        let fields: Vec<Value> = system_fields()
            .into_iter()
            .chain(standard)
            .chain(declared.iter().cloned())
            .collect();
        reply(
            StatusCode::OK,
            json!({
                "name": sobject.name,
                "label": sobject.name,
                "keyPrefix": sobject.prefix,
                "custom": false,
                "createable": true,
                "updateable": true,
                "deletable": true,
                "queryable": true,
                "fields": fields,
                "urls": {
                    "sobject": format!("/services/data/{version}/sobjects/{}", sobject.name),
                    "describe": format!("/services/data/{version}/sobjects/{}/describe", sobject.name),
                },
            }),
        )
    })
}
