//! JSON Schemas of what [`Registry::invoke`](crate::Registry::invoke) takes and returns,
//! for each action's [`ActionInfo`](crate::ActionInfo) (the MCP server's tool schemas).
//! Generated code calls these through `__private::schema`; not a public API.
//!
//! Schemas are JSON Schema 2020-12 with every subschema inlined: tool schemas are read
//! by language models and by clients that do not all resolve `$ref`.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde_json::{Value, json};

fn settings() -> SchemaSettings {
    SchemaSettings::draft2020_12().with(|settings| {
        settings.inline_subschemas = true;
        settings.meta_schema = None;
    })
}

/// The schema of arguments deserialized into `T`.
pub fn input<T: JsonSchema>() -> Value {
    settings()
        .for_deserialize()
        .into_generator()
        .into_root_schema_for::<T>()
        .into()
}

/// The schema of an output serialized from `T`.
pub fn output<T: JsonSchema>() -> Value {
    settings()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>()
        .into()
}

/// `{"id"}`: the arguments of get and delete.
pub fn id_arguments() -> Value {
    string_arguments(&[("id", "The provider's id of the record.")])
}

/// `{"id", "patch"}`: the arguments of an update; `patch` holds only the fields to change
/// and may be left out (nothing changes).
pub fn update_arguments<T: JsonSchema>() -> Value {
    let mut patch = input::<T>();
    if let Some(object) = patch.as_object_mut() {
        object.remove("title");
        object.insert(
            "description".into(),
            Value::String("The fields to change; fields left out keep their value.".into()),
        );
    }
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "The provider's id of the record."},
            "patch": patch,
        },
        "required": ["id"],
    })
}

/// An object of required string arguments (a find's key, a link's two ids), each with
/// its description.
pub fn string_arguments(arguments: &[(&str, &str)]) -> Value {
    let properties: serde_json::Map<String, Value> = arguments
        .iter()
        .map(|(name, description)| {
            (
                name.to_string(),
                json!({"type": "string", "description": description}),
            )
        })
        .collect();
    let required: Vec<&str> = arguments.iter().map(|(name, _)| *name).collect();
    json!({"type": "object", "properties": properties, "required": required})
}

/// The schema of an open enum: any string, the values the unified model lists given as
/// examples (a value it does not list arrives as `Other` and is kept as sent).
pub fn open_enum(values: &[&str]) -> Schema {
    let mut schema = serde_json::Map::new();
    schema.insert("type".into(), Value::String("string".into()));
    schema.insert("examples".into(), json!(values));
    Schema::from(schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(JsonSchema, serde::Deserialize)]
    #[allow(dead_code)]
    struct Person {
        /// Family name.
        last_name: Option<String>,
        emails: Vec<Email>,
    }

    #[derive(JsonSchema, serde::Deserialize)]
    #[allow(dead_code)]
    struct Email {
        address: String,
    }

    #[test]
    fn nested_types_are_inlined_without_a_meta_schema() {
        let schema = input::<Person>();
        assert_eq!(schema.get("$schema"), None);
        assert_eq!(schema.get("$defs"), None);
        assert_eq!(
            schema["properties"]["emails"]["items"]["properties"]["address"]["type"],
            "string"
        );
        assert_eq!(
            schema["properties"]["last_name"]["description"],
            "Family name."
        );
    }

    #[test]
    fn update_arguments_require_the_id_and_describe_the_patch() {
        let schema = update_arguments::<Person>();
        assert_eq!(schema["required"], json!(["id"]));
        assert_eq!(
            schema["properties"]["patch"]["properties"]["emails"]["type"],
            "array"
        );
    }
}
