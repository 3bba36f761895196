//! Stage 2: every file of a project checked against the unified models and each
//! provider's OpenAPI document, and lowered to the IR (`crate::ir`). Problems are
//! collected, never thrown: one run reports them all.

pub mod composite;
pub mod mapping;
pub mod model;
pub mod project;
pub mod provider;
#[cfg(test)]
mod tests;
