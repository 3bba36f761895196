//! The intermediate representation: what the checkers produce and the emitter reads.
//! Nothing here knows YAML syntax or Rust tokens; every type is plain data.

pub mod action;
pub mod composite;
pub mod mapping;
pub mod model;
pub mod provider;

pub use action::ActionKind;
pub use composite::{Composite, KeyPath, Step, StepRef};
pub use mapping::*;
pub use model::{Field, FieldType, ModelSet, TypeDef, TypeKind};
pub use provider::*;

/// One step of a provider-side path: `properties.firstname` is two keys, `[0]` an index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A checked project, ready to emit.
#[derive(Clone, Debug)]
pub struct Project {
    pub models: ModelSet,
    pub providers: Vec<(Provider, Vec<Mapping>)>,
    pub composites: Vec<Composite>,
}
