//! Stage 1: YAML and OpenAPI documents read into spanned trees, every node keeping its
//! file, line and column for diagnostics.

pub mod openapi;
pub mod path;
pub mod reader;
pub mod yaml;
