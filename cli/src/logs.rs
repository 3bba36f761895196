//! `unifold logs`: the stored operation log (see `unifold_runtime::logs`) as a table
//! for people or as JSON lines for machines.

use std::process::ExitCode;
use unifold_runtime::logs::{LogFilter, LogStore, LoggedOperation};
use unifold_runtime::{Outcome, RequestRecord};

/// The filters and output of `unifold logs`.
pub struct LogsCommand {
    pub store: String,
    pub schema: Option<String>,
    pub filter: LogFilter,
    pub json: bool,
    pub requests: bool,
}

/// `30s`, `15m`, `1h`, `2d` before now, or an RFC 3339 instant.
pub fn parse_since(text: &str) -> Result<unifold_runtime::DateTime, String> {
    if let Ok(instant) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(instant.with_timezone(&chrono::Utc));
    }
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let amount: i64 = number.parse().map_err(|_| {
        format!("`{text}` is not a duration like 30s, 15m, 1h, 2d or an RFC 3339 instant")
    })?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "`{text}`: the unit is s, m, h or d (e.g. 1h), or give an RFC 3339 instant"
            ));
        }
    };
    Ok(chrono::Utc::now() - chrono::Duration::seconds(amount.saturating_mul(seconds)))
}

pub fn run(command: LogsCommand) -> ExitCode {
    crate::block_on(async move {
        let mut builder = LogStore::builder(&command.store);
        if let Some(schema) = &command.schema {
            builder = builder.schema(schema);
        }
        let store = match builder.connect().await {
            Ok(store) => store,
            Err(error) => {
                eprintln!(
                    "error: cannot open the log store {}: {error}",
                    command.store
                );
                return ExitCode::FAILURE;
            }
        };
        let operations = match store.query(&command.filter).await {
            Ok(operations) => operations,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        };
        if command.json {
            for operation in &operations {
                match serde_json::to_string(operation) {
                    Ok(line) => println!("{line}"),
                    Err(error) => {
                        eprintln!("error: {error}");
                        return ExitCode::FAILURE;
                    }
                }
            }
        } else {
            print!("{}", table(&operations, command.requests));
        }
        ExitCode::SUCCESS
    })
}

/// The operations as aligned columns, oldest first, each request under its operation
/// when `requests` is set.
fn table(operations: &[LoggedOperation], requests: bool) -> String {
    if operations.is_empty() {
        return "no operations match\n".to_string();
    }
    let rows: Vec<[String; 7]> = operations
        .iter()
        .rev()
        .map(|logged| {
            let op = &logged.operation;
            [
                op.started_at.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
                format!("{} ms", op.duration_ms),
                op.connection_id.clone(),
                op.provider.clone(),
                op.action.clone(),
                outcome(&op.outcome),
                format!("{}/{}", op.requests, op.attempts),
            ]
        })
        .collect();
    let headers = [
        "started (UTC)",
        "duration",
        "connection",
        "provider",
        "action",
        "outcome",
        "requests/attempts",
    ];
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| {
        let mut out = String::new();
        for (index, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if index + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(&headers);
    for (row, logged) in rows.iter().zip(operations.iter().rev()) {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        out.push_str(&line(&cells));
        if requests {
            for request in &logged.requests {
                out.push_str(&format!("    {}\n", request_line(request)));
            }
        }
    }
    out
}

fn outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Succeeded { summary } => match summary.get("remote_id") {
            Some(id) => format!(
                "ok {}",
                id.as_str().map_or_else(|| id.to_string(), str::to_string)
            ),
            None => format!("ok {summary}"),
        },
        Outcome::Failed {
            category, status, ..
        } => match status {
            Some(status) => format!("FAILED {category} (HTTP {status})"),
            None => format!("FAILED {category}"),
        },
    }
}

fn request_line(request: &RequestRecord) -> String {
    let status = match (request.status, &request.error) {
        (Some(status), _) => status.to_string(),
        (None, Some(error)) => format!("no answer: {error}"),
        (None, None) => "no answer".to_string(),
    };
    format!(
        "{} {} → {} in {} ms (attempt {})",
        request.method, request.url, status, request.duration_ms, request.attempt
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_and_instants() {
        let an_hour_ago = parse_since("1h").unwrap();
        let age = chrono::Utc::now() - an_hour_ago;
        assert!((3590..=3610).contains(&age.num_seconds()), "{age:?}");
        assert_eq!(
            parse_since("2026-11-30T10:00:00Z").unwrap().to_rfc3339(),
            "2026-11-30T10:00:00+00:00"
        );
        assert_eq!(
            parse_since("1w").unwrap_err(),
            "`1w`: the unit is s, m, h or d (e.g. 1h), or give an RFC 3339 instant"
        );
        assert!(parse_since("soon").is_err());
    }
}
