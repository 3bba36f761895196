//! Problems in the user's YAML, each pointing at a file, line and column.
//!
//! One [`Diagnostics`] list collects every problem of a run (serde_derive's lesson:
//! report them all, not the first). It renders two ways: plain text in the style of
//! rustc, used by the proc-macro, build scripts and tests; and miette's graphical
//! report, used by the CLI.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a node starts: file index in [`Sources`], 1-based line and column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Loc {
    pub file: usize,
    pub line: u32,
    pub column: u32,
}

/// Every file read in one run, by index. Diagnostics refer to files by index.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: Vec<SourceFile>,
}

#[derive(Debug, Clone)]
struct SourceFile {
    path: PathBuf,
    display: String,
    text: Arc<str>,
}

impl Sources {
    /// Registers a file; `display` is the name shown in messages (relative paths read
    /// better than absolute ones).
    pub fn add(&mut self, path: PathBuf, display: String, text: String) -> usize {
        self.files.push(SourceFile {
            path,
            display,
            text: text.into(),
        });
        self.files.len() - 1
    }

    pub fn text(&self, file: usize) -> &str {
        &self.files[file].text
    }

    pub fn display(&self, file: usize) -> &str {
        &self.files[file].display
    }

    /// Every file read, for `cargo:rerun-if-changed` and macro rebuild anchors.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|file| file.path.as_path())
    }
}

/// One problem: where, what, what was expected there, and what to do.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
    pub label: Option<String>,
    pub help: Option<String>,
    source_line: String,
    underline: usize,
    offset: usize,
    source: Arc<str>,
}

impl Diagnostic {
    pub fn new(sources: &Sources, loc: Loc, message: impl Into<String>) -> Diagnostic {
        let text: Arc<str> = sources.files[loc.file].text.clone();
        let line_index = loc.line.saturating_sub(1) as usize;
        let source_line = text.lines().nth(line_index).unwrap_or("").to_string();
        let line_start: usize = text
            .split_inclusive('\n')
            .take(line_index)
            .map(str::len)
            .sum();
        let column_bytes: usize = source_line
            .chars()
            .take(loc.column.saturating_sub(1) as usize)
            .map(char::len_utf8)
            .sum();
        let underline = token_length(&source_line[column_bytes.min(source_line.len())..]);
        Diagnostic {
            file: sources.display(loc.file).to_string(),
            line: loc.line,
            column: loc.column,
            message: message.into(),
            label: None,
            help: None,
            source_line,
            underline,
            offset: (line_start + column_bytes).min(text.len()),
            source: text,
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// `file:line:column`, as editors and terminals link it.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.file, self.line, self.column)
    }
}

/// The length of the YAML token starting a line remainder: a quoted scalar up to its
/// closing quote, else a plain scalar or key up to the next indicator.
fn token_length(rest: &str) -> usize {
    let mut chars = rest.chars();
    match chars.next() {
        None => 1,
        Some(quote @ ('"' | '\'')) => chars
            .position(|c| c == quote)
            .map(|end| end + 2)
            .unwrap_or(rest.chars().count()),
        Some(_) => {
            let end = rest
                .char_indices()
                .find(|(index, c)| {
                    matches!(c, ',' | ']' | '}' | '#')
                        || (*c == ':' && rest[index + 1..].starts_with([' ', '\t']))
                        || (*c == ':' && index + 1 == rest.len())
                })
                .map(|(index, _)| index)
                .unwrap_or(rest.len());
            rest[..end].trim_end().chars().count().max(1)
        }
    }
}

impl fmt::Display for Diagnostic {
    /// The headline only; [`Diagnostic::render_plain`] gives the full report.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

struct Plain<'a>(&'a Diagnostic);

impl Diagnostic {
    /// The rustc-style report: headline, `--> file:line:column`, the YAML line with a
    /// caret under the token, the label, and the help.
    pub fn render_plain(&self) -> String {
        Plain(self).to_string()
    }
}

impl fmt::Display for Plain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let this = self.0;
        let number = this.line.to_string();
        let gutter = " ".repeat(number.len());
        writeln!(f, "error: {}", this.message)?;
        writeln!(f, "{gutter} --> {}", this.location())?;
        writeln!(f, "{gutter} |")?;
        writeln!(f, "{number} | {}", this.source_line)?;
        let pad: String = this
            .source_line
            .chars()
            .take(this.column.saturating_sub(1) as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        write!(f, "{gutter} | {pad}{}", "^".repeat(this.underline))?;
        if let Some(label) = &this.label {
            write!(f, " {label}")?;
        }
        writeln!(f)?;
        if let Some(help) = &this.help {
            writeln!(f, "{gutter} |")?;
            writeln!(f, "{gutter} = help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let length: usize = self.source[self.offset..]
            .chars()
            .take(self.underline)
            .map(char::len_utf8)
            .sum();
        Some(Box::new(std::iter::once(miette::LabeledSpan::new(
            self.label.clone(),
            self.offset,
            length,
        ))))
    }
}

impl miette::SourceCode for Diagnostic {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let contents = self
            .source
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.file.clone(),
            contents.data(),
            *contents.span(),
            contents.line(),
            contents.column(),
            contents.line_count(),
        )))
    }
}

/// Every problem found in one run, in file order.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// miette's graphical rendering (no colour when `color` is false).
    pub fn render_graphical(&self, color: bool) -> String {
        let theme = if color {
            miette::GraphicalTheme::unicode()
        } else {
            miette::GraphicalTheme::unicode_nocolor()
        };
        let handler = miette::GraphicalReportHandler::new_themed(theme);
        let mut out = String::new();
        for diagnostic in &self.0 {
            // Writing into a String cannot fail.
            let _ = handler.render_report(&mut out, diagnostic);
            out.push('\n');
        }
        out.push_str(&self.summary());
        out
    }

    fn summary(&self) -> String {
        match self.0.len() {
            1 => "1 problem found\n".to_string(),
            n => format!("{n} problems found\n"),
        }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in &self.0 {
            writeln!(f, "{}", diagnostic.render_plain())?;
        }
        f.write_str(&self.summary())
    }
}

impl std::error::Error for Diagnostics {}

/// The closest candidate by edit distance, if it is close enough to be a typo.
pub fn did_you_mean<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let wrong_lower = wrong.to_lowercase();
    candidates
        .into_iter()
        .map(|candidate| {
            (
                edit_distance(&wrong_lower, &candidate.to_lowercase()),
                candidate,
            )
        })
        .filter(|(distance, candidate)| *distance <= (candidate.chars().count().max(3) / 3).max(2))
        // Between candidates that differ only in case, the one spelt alike wins
        // (`{Singulr}` → `{Singular}`, not `{singular}`).
        .min_by_key(|(distance, candidate)| (*distance, edit_distance(wrong, candidate)))
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// "one of `a`, `b`, `c`" for messages; long lists are cut.
pub fn one_of<'a>(candidates: impl IntoIterator<Item = &'a str>) -> String {
    let all: Vec<&str> = candidates.into_iter().collect();
    let shown: Vec<String> = all.iter().take(12).map(|c| format!("`{c}`")).collect();
    let more = if all.len() > 12 {
        format!(" and {} more", all.len() - 12)
    } else {
        String::new()
    };
    if shown.is_empty() {
        "nothing (none are defined)".to_string()
    } else {
        format!("one of {}{more}", shown.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        let names = ["firstname", "lastname", "email", "phone"];
        assert_eq!(did_you_mean("fristname", names), Some("firstname"));
        assert_eq!(did_you_mean("emial", names), Some("email"));
        assert_eq!(did_you_mean("zzzzzzzz", names), None);
    }

    #[test]
    fn plain_rendering_points_at_the_token() {
        let mut sources = Sources::default();
        let file = sources.add(
            "m.yaml".into(),
            "m.yaml".into(),
            "fields:\n  first_name: properties.fristname\n".into(),
        );
        let loc = Loc {
            file,
            line: 2,
            column: 15,
        };
        let shown = Diagnostic::new(&sources, loc, "unknown provider field `fristname`")
            .with_label("not in the request body")
            .with_help("did you mean `properties.firstname`?")
            .render_plain();
        assert_eq!(
            shown,
            "error: unknown provider field `fristname`\n  --> m.yaml:2:15\n  |\n2 |   first_name: properties.fristname\n  |               ^^^^^^^^^^^^^^^^^^^^ not in the request body\n  |\n  = help: did you mean `properties.firstname`?\n"
        );
    }
}
