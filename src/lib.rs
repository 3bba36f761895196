//! # unifold
//!
//! Typed unified actions on SaaS APIs, generated at build time from YAML: unified
//! models, one mapping per provider, and a provider definition with its own OpenAPI
//! document. See the README and `docs/` for the whole picture.
//!
//! This facade re-exports the runtime (what generated code and users call) and, with
//! the default `macros` feature, the [`generate!`] proc-macro. With the `mcp` feature,
//! `unifold::mcp` serves a generated crate's actions as MCP tools (stdio and Streamable
//! HTTP).

pub use unifold_runtime::*;

#[cfg(feature = "macros")]
pub use unifold_macros::generate;
