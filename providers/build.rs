//! Generates the shipped CRM actions from `../unified-models` and this folder's
//! provider definitions, the same way a user's build script would.

fn main() {
    unifold_codegen::Builder::new("..")
        .runtime_path("::unifold_runtime")
        .run();
}
