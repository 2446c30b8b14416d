//! One announcement, one message per medium (pure): SNS delivers the
//! message of a `MessageStructure=json` publish by the subscriber's
//! protocol. Email gets a subject and a short readable body, SMS one line
//! of at most 160 characters, and machines (Lambda, SQS, HTTP, `email-json`)
//! the announcement's JSON, as before.

use crate::announce::{Announcement, Severity};
use serde_json::{json, Value};
use std::fmt::Write;

/// SNS refuses a subject of 100 characters or more.
pub const SUBJECT_MAX: usize = 99;
/// One SMS.
pub const SMS_MAX: usize = 160;

/// An email's subject and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub body: String,
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRITICAL",
        Severity::Warning => "WARNING",
        Severity::Info => "info",
    }
}

/// ASCII only (SNS subjects and plain SMS): common accented letters lose
/// their accent, other characters become `?`, control characters a space.
pub fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ' '..='~' => c,
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'À' | 'Á' | 'Â' | 'Ä' | 'Ã' | 'Å' => 'A',
            'ç' => 'c',
            'Ç' => 'C',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'È' | 'É' | 'Ê' | 'Ë' => 'E',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
            'ñ' => 'n',
            'Ñ' => 'N',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
            'Ò' | 'Ó' | 'Ô' | 'Ö' | 'Õ' => 'O',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
            'ÿ' | 'ý' => 'y',
            '’' | '‘' => '\'',
            '“' | '”' => '"',
            '–' | '—' => '-',
            '…' => '.',
            c if c.is_control() => ' ',
            _ => '?',
        })
        .collect()
}

/// At most `max` characters, cut with `...` when longer.
fn fit(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(3)).collect();
    out.push_str("...");
    out
}

/// Where the announcement is about: `rds-instance rewapp-prod-db
/// (eu-west-1)`.
fn place(a: &Announcement) -> Option<String> {
    let r = a.resource.as_ref()?;
    if r.kind == "incident" {
        return None;
    }
    Some(format!("{} {} ({})", r.kind, r.id, a.region))
}

/// The incident id an announcement is about, if any.
fn incident_id(a: &Announcement) -> Option<&str> {
    a.details.get("incident").and_then(Value::as_str)
}

/// The email: `[Rempart] CRITICAL incident.opened: <summary>` and a plain
/// text body saying what, where, the class and deadline of an incident,
/// what to do and how to acknowledge, and where to read more.
pub fn email(a: &Announcement, what_to_do: Option<&str>) -> Email {
    let sev = severity_word(a.severity);
    let subject = fit(
        &ascii(&format!("[Rempart] {sev} {}: {}", a.kind, a.summary)),
        SUBJECT_MAX,
    );
    let mut b = String::new();
    let _ = writeln!(b, "{}\n", a.summary);
    let _ = writeln!(b, "What:      {} ({sev})", a.kind);
    if let Some(p) = place(a) {
        let _ = writeln!(b, "Where:     {p}");
    }
    if let Some(p) = &a.policy {
        let _ = writeln!(b, "Policy:    {p}");
    }
    let _ = writeln!(b, "When:      {}", a.time.format("%Y-%m-%d %H:%M:%S UTC"));
    let d = &a.details;
    if let Some(id) = incident_id(a) {
        let _ = writeln!(b, "Incident:  {id}");
        let class = d.get("class").and_then(Value::as_str).unwrap_or("");
        if let (Some(impact), Some(level)) = (
            d.get("impact").and_then(Value::as_str),
            d.get("level").and_then(Value::as_u64),
        ) {
            if class.is_empty() {
                let _ = writeln!(b, "Class:     {impact}, level {level}");
            } else {
                let _ = writeln!(b, "Class:     {class} ({impact})");
            }
        }
        if let Some(p) = d.get("on_call").and_then(Value::as_str) {
            let _ = writeln!(b, "Paged:     {p}");
        }
        if let Some(s) = d.get("respond_within_s").and_then(Value::as_i64) {
            let deadline = a.time + chrono::TimeDelta::seconds(s);
            let _ = writeln!(
                b,
                "Deadline:  respond within {} (by {})",
                crate::time::human(s),
                deadline.format("%Y-%m-%d %H:%M UTC")
            );
        }
    }
    if let Some(w) = what_to_do {
        let _ = writeln!(b, "\nWhat to do: {w}");
    }
    if let Some(id) = incident_id(a) {
        let _ = writeln!(
            b,
            "\nTo acknowledge (stops the escalation): the Acknowledge button on the Slack message, or\n  rempart incident ack '{id}' --by <you>"
        );
    }
    if let Some(r) = &a.resource {
        if let Some(url) = crate::notify::console_url(&r.kind, &r.id, &a.region) {
            let _ = writeln!(b, "\nAWS console: {url}");
        }
        if r.kind != "incident" {
            let _ = writeln!(
                b,
                "History: rempart report --resource {}#{}#{}",
                r.kind, a.region, r.id
            );
        }
    }
    let _ = write!(
        b,
        "\n--\nRempart ({}, {}). Subscribe with the email-json protocol for the machine-readable announcement.\n",
        a.function, a.region
    );
    Email { subject, body: b }
}

/// The SMS: one ASCII line of at most 160 characters, the essentials
/// first: `Rempart CRITICAL: <summary>`, then the resource when there is
/// room, then how to acknowledge an incident.
pub fn sms(a: &Announcement) -> String {
    let head = format!("Rempart {}: {}", severity_word(a.severity), a.summary);
    let mut line = ascii(&head);
    let tail = if incident_id(a).is_some() {
        " Ack: Slack button or rempart incident ack."
    } else {
        ""
    };
    if line.chars().count() + tail.len() <= SMS_MAX {
        line.push_str(tail);
        line
    } else {
        let mut cut = fit(&line, SMS_MAX - tail.len());
        cut.push_str(tail);
        fit(&cut, SMS_MAX)
    }
}

/// The `Message` of a `MessageStructure=json` publish: `default` (and
/// `email-json`, `sqs`, `lambda`, `http`, `https`) the announcement's
/// JSON, `email` the readable body, `sms` the line.
pub fn structured(a: &Announcement, what_to_do: Option<&str>) -> (String, String) {
    let machine = serde_json::to_string(a).unwrap_or_default();
    let e = email(a, what_to_do);
    let message = json!({
        "default": machine,
        "email": e.body,
        "sms": sms(a),
    });
    (message.to_string(), e.subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(
        kind: &str,
        severity: &str,
        summary: &str,
        resource: Value,
        details: Value,
    ) -> Announcement {
        serde_json::from_value(json!({
            "schema": crate::announce::SCHEMA, "kind": kind, "severity": severity,
            "time": "2025-11-23T02:06:13Z", "function": "incident-escalator", "region": "eu-west-1",
            "resource": resource, "policy": "rewapp-postgres", "summary": summary, "details": details,
        }))
        .expect("announcement")
    }

    fn incident() -> Announcement {
        ann(
            "incident.opened",
            "critical",
            "Incident opened: alarm rewapp-prod-db-critical-connections (critical, level 3, respond within 4 h)",
            json!({"kind": "incident", "id": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:rewapp-prod-db-critical-connections@2025-11-23T02:06:13Z"}),
            json!({"incident": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:rewapp-prod-db-critical-connections@2025-11-23T02:06:13Z", "impact": "critical", "level": 3, "respond_within_s": 14400, "client_notice_within_s": 14400}),
        )
    }

    fn failure() -> Announcement {
        ann(
            "snapshot.failed",
            "warning",
            "Snapshot of rewapp-prod-db échoué: SnapshotQuotaExceeded",
            json!({"kind": "rds-instance", "id": "rewapp-prod-db", "arn": ""}),
            json!({"error": {"code": "SnapshotQuotaExceeded"}}),
        )
    }

    /// Proves: the email of an incident and of a job failure, as a person
    /// reads them (subject and body, snapshot per kind).
    #[test]
    fn emails_per_kind() {
        for (name, a) in [
            ("incident_opened", incident()),
            ("snapshot_failed", failure()),
        ] {
            let e = email(&a, crate::notify::what_to_do(&a).as_deref());
            insta::assert_snapshot!(
                format!("email_{name}"),
                format!("Subject: {}\n\n{}", e.subject, e.body)
            );
        }
    }

    /// Proves: the SMS of an incident and of a job failure (snapshot per
    /// kind), each one ASCII line of at most 160 characters.
    #[test]
    fn sms_per_kind() {
        for (name, a) in [
            ("incident_opened", incident()),
            ("snapshot_failed", failure()),
        ] {
            let s = sms(&a);
            assert!(s.chars().count() <= SMS_MAX, "{s}");
            assert!(s.is_ascii() && !s.contains('\n'), "{s}");
            insta::assert_snapshot!(format!("sms_{name}"), s);
        }
    }

    /// Proves: the subject is ASCII, one line and under SNS's 100
    /// characters, however long or accented the summary.
    #[test]
    fn subjects_fit_sns() {
        let long = ann(
            "copy.failed",
            "warning",
            &"é\n".repeat(300),
            json!(null),
            json!({}),
        );
        let e = email(&long, None);
        assert!(e.subject.chars().count() <= SUBJECT_MAX);
        assert!(
            e.subject.is_ascii() && !e.subject.contains('\n'),
            "{}",
            e.subject
        );
        assert!(
            e.subject
                .starts_with("[Rempart] WARNING copy.failed: e e e"),
            "{}",
            e.subject
        );
    }

    /// Proves: the structured message keeps the announcement's JSON for
    /// machines (`default`), byte for byte what a plain publish sent.
    #[test]
    fn machines_keep_the_json() {
        let a = incident();
        let (message, subject) = structured(&a, None);
        let v: Value = serde_json::from_str(&message).expect("JSON");
        assert_eq!(
            v["default"].as_str(),
            Some(serde_json::to_string(&a).expect("json").as_str())
        );
        assert!(v["email"]
            .as_str()
            .is_some_and(|b| b.contains("To acknowledge")));
        assert!(v["sms"].as_str().is_some_and(|s| s.len() <= SMS_MAX));
        assert!(subject.starts_with("[Rempart] CRITICAL incident.opened"));
    }
}
