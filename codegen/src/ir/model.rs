//! Unified models and their shared types, as checked from `unified-models/*.yaml`.

use crate::parse::yaml::Node;

/// The type of a unified field.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldType {
    String,
    Integer,
    Number,
    Boolean,
    DateTime,
    Date,
    Json,
    /// A named object or enum type from `types:`.
    Named(String),
    List(Box<FieldType>),
}

impl FieldType {
    pub fn describe(&self) -> String {
        match self {
            FieldType::String => "string".into(),
            FieldType::Integer => "integer".into(),
            FieldType::Number => "number".into(),
            FieldType::Boolean => "boolean".into(),
            FieldType::DateTime => "datetime".into(),
            FieldType::Date => "date".into(),
            FieldType::Json => "json".into(),
            FieldType::Named(name) => name.clone(),
            FieldType::List(item) => format!("list<{}>", item.describe()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
    pub description: Option<String>,
    pub required: bool,
    pub read_only: bool,
    pub write_only: bool,
    /// `email` is the one checked format today; `max_length` applies to strings.
    pub format: Option<String>,
    pub max_length: Option<usize>,
    /// Kept out of logs (`sensitive: true`): its value is redacted wherever an input
    /// holding it is logged.
    pub sensitive: bool,
    pub node: Node,
}

#[derive(Clone, Debug)]
pub enum TypeKind {
    Object(Vec<Field>),
    /// An open enum: known values plus `Other(String)`.
    Enum(Vec<String>),
}

#[derive(Clone, Debug)]
pub struct TypeDef {
    pub name: String,
    pub description: Option<String>,
    pub kind: TypeKind,
    /// Models get separate read and write structs; shared types do not.
    pub is_model: bool,
    pub node: Node,
}

impl TypeDef {
    pub fn fields(&self) -> &[Field] {
        match &self.kind {
            TypeKind::Object(fields) => fields,
            TypeKind::Enum(_) => &[],
        }
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields().iter().find(|field| field.name == name)
    }
}

/// Every model and type of a project, in file order.
#[derive(Clone, Debug, Default)]
pub struct ModelSet {
    pub types: Vec<TypeDef>,
}

impl ModelSet {
    pub fn get(&self, name: &str) -> Option<&TypeDef> {
        self.types.iter().find(|ty| ty.name == name)
    }

    pub fn models(&self) -> impl Iterator<Item = &TypeDef> {
        self.types.iter().filter(|ty| ty.is_model)
    }

    pub fn model_names(&self) -> impl Iterator<Item = &str> {
        self.models().map(|model| model.name.as_str())
    }
}
