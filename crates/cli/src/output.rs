//! Text or JSON output, and bpftool's error format.

use crate::args::CliError;

/// Where and how a command prints.
pub struct Output {
    pub json: bool,
    pub pretty: bool,
}

impl Output {
    pub fn new(json: bool, pretty: bool) -> Self {
        Output { json, pretty }
    }

    /// Prints a JSON value (compact or pretty).
    pub fn print_json(&self, v: &serde_json::Value) {
        if self.pretty {
            println!("{}", serde_json::to_string_pretty(v).expect("json"));
        } else {
            println!("{v}");
        }
    }

    /// Prints an error as bpftool does: `Error: ...` on stderr, or
    /// `{"error":"..."}` on stdout in JSON mode.
    pub fn error(&self, e: &CliError) {
        if self.json {
            self.print_json(&serde_json::json!({ "error": e.0 }));
        } else {
            eprintln!("Error: {}", e.0);
        }
    }
}
