//! The kernel verifier's log, with the statistics it ends with.
//!
//! The log is product text for oxbpf (our verifier writes the kernel's
//! wording), so it is kept verbatim; the two numbers tests compare against
//! — instructions processed and verification time — are parsed out of it.

use std::fmt;

/// A verifier log as the kernel wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifierLog {
    /// The whole log (lossily decoded as UTF-8, up to the first NUL).
    pub text: String,
    /// From `processed N insns (limit …)`; the kernel prints it at any log
    /// level once verification finishes or gives up.
    pub processed_insns: Option<u64>,
    /// From `verification time N usec`; printed only with
    /// [`LogLevel::STATS`](super::LogLevel::STATS).
    pub verification_time_usec: Option<u64>,
    /// From `stack depth A+B…`: one entry per subprogram; with
    /// [`LogLevel::STATS`](super::LogLevel::STATS) only.
    pub stack_depth: Vec<u64>,
}

impl VerifierLog {
    /// Parses the statistics out of a log's text.
    pub fn parse(text: String) -> Self {
        let mut log = VerifierLog {
            text,
            ..Default::default()
        };
        for line in log.text.lines() {
            if let Some(rest) = line.strip_prefix("processed ") {
                log.processed_insns = leading_number(rest);
            } else if let Some(rest) = line.strip_prefix("verification time ") {
                log.verification_time_usec = leading_number(rest);
            } else if let Some(rest) = line.strip_prefix("stack depth ") {
                log.stack_depth = rest
                    .split('+')
                    .filter_map(|p| p.trim().parse().ok())
                    .collect();
            }
        }
        log
    }

    /// Builds from the raw log buffer, which the kernel NUL-terminates.
    pub(crate) fn from_buf(buf: &[u8]) -> Self {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        Self::parse(String::from_utf8_lossy(&buf[..end]).into_owned())
    }

    /// The last `n` lines, where the reason for a rejection is.
    pub fn tail(&self, n: usize) -> String {
        let lines: Vec<&str> = self.text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Whether the log is empty (no log was requested).
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

impl fmt::Display for VerifierLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn leading_number(s: &str) -> Option<u64> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stats_lines() {
        let text = "0: R1=ctx() R10=fp0\n0: (b7) r0 = 0                        ; R0_w=0\n1: (95) exit\n\
                    verification time 17 usec\nstack depth 0+8\n\
                    processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n";
        let log = VerifierLog::parse(text.to_string());
        assert_eq!(log.processed_insns, Some(2));
        assert_eq!(log.verification_time_usec, Some(17));
        assert_eq!(log.stack_depth, vec![0, 8]);
        assert_eq!(log.tail(1), "processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0");
    }

    #[test]
    fn missing_stats_are_none_and_nul_ends_the_text() {
        let log = VerifierLog::from_buf(b"R1 !read_ok\n\0garbage");
        assert_eq!(log.text, "R1 !read_ok\n");
        assert_eq!(log.processed_insns, None);
        assert_eq!(log.verification_time_usec, None);
        assert!(log.stack_depth.is_empty());
        assert!(!log.is_empty());
    }

    #[test]
    fn garbage_numbers_do_not_panic() {
        let log = VerifierLog::parse(
            "processed x insns\nverification time 99999999999999999999999 usec\n".into(),
        );
        assert_eq!(log.processed_insns, None);
        assert_eq!(log.verification_time_usec, None);
    }
}
