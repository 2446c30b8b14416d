//! Acknowledging an incident from Slack (pure): the buttons an incident's
//! message carries, the check of Slack's request signature on a click, and
//! the click itself read out of Slack's `block_actions` payload.
//!
//! Slack signs each request to the app's interactivity URL: the header
//! `X-Slack-Signature` is `v0=` and the hex HMAC-SHA256, keyed with the
//! app's signing secret, of `v0:{timestamp}:{raw body}`, the timestamp
//! being the header `X-Slack-Request-Timestamp` (Unix seconds). A request
//! more than 5 minutes from now, either way, is refused before any HMAC is
//! computed (a replay, or a clock off); the signature is compared in
//! constant time.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// The signature header (lower case: a Lambda function URL hands headers
/// over in lower case; HTTP header names are case-insensitive).
pub const HEADER_SIGNATURE: &str = "x-slack-signature";
/// The timestamp header, Unix seconds.
pub const HEADER_TIMESTAMP: &str = "x-slack-request-timestamp";
/// How far the request's timestamp may be from now, either way.
pub const MAX_SKEW_S: i64 = 300;
/// The version prefix of Slack's signatures.
const VERSION: &str = "v0";

/// The `action_id` of the "Acknowledge" button.
pub const ACTION_ACK: &str = "rempart_ack";
/// The `action_id` of the "Client notified" button.
pub const ACTION_CLIENT_NOTIFIED: &str = "rempart_client_notified";
/// The `block_id` of the buttons' block.
pub const BLOCK_ID: &str = "rempart_incident";
/// Slack's limit on a button's `value`.
pub const MAX_VALUE_CHARS: usize = 2000;

/// Why a request is refused.
#[derive(Debug, PartialEq, Eq, Clone, thiserror::Error)]
pub enum Refusal {
    #[error("no `{0}` header: not a request signed by Slack")]
    MissingHeader(&'static str),
    #[error("request timestamp is not a Unix time in seconds")]
    BadTimestamp,
    #[error("{}", stale(.skew_s))]
    Stale {
        /// Now minus the request's timestamp: positive when the request is
        /// old, negative when it is from the future.
        skew_s: i64,
    },
    #[error("request signature does not match (is the signing secret the Slack app's?)")]
    BadSignature,
    #[error("not a Slack button click: {0}")]
    BadPayload(String),
    #[error(
        "unknown action `{0}`: Rempart's buttons are `rempart_ack` and `rempart_client_notified`"
    )]
    UnknownAction(String),
}

fn stale(skew_s: &i64) -> String {
    let skew_s = *skew_s;
    if skew_s >= 0 {
        format!(
            "request timestamp is {skew_s} s old: older than 5 minutes (a replay, or a clock off)"
        )
    } else {
        format!(
            "request timestamp is {} s in the future: more than 5 minutes ahead (a clock off)",
            skew_s.unsigned_abs()
        )
    }
}

impl Refusal {
    /// The HTTP status to answer with: 401 when the request is not proven
    /// to come from Slack, 400 when it does but is not a Rempart click.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::MissingHeader(_)
            | Refusal::BadTimestamp
            | Refusal::Stale { .. }
            | Refusal::BadSignature => 401,
            Refusal::BadPayload(_) | Refusal::UnknownAction(_) => 400,
        }
    }
}

/// The HMAC of Slack's base string `v0:{timestamp}:{body}`.
fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length: `new_from_slice` cannot fail.
    let mut m =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes a key of any length");
    m.update(VERSION.as_bytes());
    m.update(b":");
    m.update(timestamp.as_bytes());
    m.update(b":");
    m.update(body);
    m
}

/// The `X-Slack-Signature` Slack sends with `body` at `timestamp`:
/// `v0=<64 hex digits>`.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    format!(
        "{VERSION}={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Checks that a request comes from Slack: both headers present, the
/// timestamp within [`MAX_SKEW_S`] of `now` (checked first: a stale request
/// costs no HMAC), and the signature, `v0=` and 64 hex digits, that of
/// `body` (the raw bytes as received) under `signing_secret`, compared in
/// constant time. An empty secret verifies nothing.
pub fn verify(
    signing_secret: &[u8],
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    if timestamp.is_empty() {
        return Err(Refusal::MissingHeader("X-Slack-Request-Timestamp"));
    }
    if signature.is_empty() {
        return Err(Refusal::MissingHeader("X-Slack-Signature"));
    }
    if !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refusal::BadTimestamp);
    }
    let at: i64 = timestamp.parse().map_err(|_| Refusal::BadTimestamp)?;
    let skew_s = now.timestamp().saturating_sub(at);
    if skew_s.unsigned_abs() > MAX_SKEW_S.unsigned_abs() {
        return Err(Refusal::Stale { skew_s });
    }
    let expected = signature
        .strip_prefix("v0=")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|h| hex::decode(h).ok())
        .ok_or(Refusal::BadSignature)?;
    if signing_secret.is_empty() {
        return Err(Refusal::BadSignature);
    }
    mac(signing_secret, timestamp, body)
        .verify_slice(&expected)
        .map_err(|_| Refusal::BadSignature)
}

/// What a button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Acknowledge the incident (stops the escalation).
    Ack,
    /// Record that the client was notified.
    ClientNotified,
}

impl Action {
    /// The button's `action_id`.
    pub fn action_id(&self) -> &'static str {
        match self {
            Action::Ack => ACTION_ACK,
            Action::ClientNotified => ACTION_CLIENT_NOTIFIED,
        }
    }

    /// The action of an `action_id`, if it is one of Rempart's.
    pub fn from_action_id(id: &str) -> Option<Action> {
        match id {
            ACTION_ACK => Some(Action::Ack),
            ACTION_CLIENT_NOTIFIED => Some(Action::ClientNotified),
            _ => None,
        }
    }
}

/// A click on one of Rempart's buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    pub action: Action,
    /// The button's value: the incident id.
    pub incident: String,
    pub user_id: String,
    /// The user's Slack handle (`user.username`, else `user.name`, else
    /// the user id).
    pub user_name: String,
    pub team: Option<String>,
    /// Where to post follow-ups to the message's channel (valid 30 min).
    pub response_url: Option<String>,
    pub channel: Option<String>,
    /// The clicked message's `ts`.
    pub message_ts: Option<String>,
}

impl Click {
    /// Who acted, as the incident's timeline records it:
    /// `slack:<user_name> (<user_id>)`.
    pub fn by(&self) -> String {
        format!("slack:{} ({})", self.user_name, self.user_id)
    }
}

/// A non-empty string at a JSON pointer.
fn text_at(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Reads a click out of the request body: form-encoded, its `payload`
/// field Slack's `block_actions` JSON; the first action is the click.
pub fn parse(body: &[u8]) -> Result<Click, Refusal> {
    let bad = |s: &str| Refusal::BadPayload(s.to_string());
    let payload = form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v)
        .ok_or_else(|| bad("no `payload` field in the form-encoded body"))?;
    let v: Value = serde_json::from_str(&payload)
        .map_err(|e| Refusal::BadPayload(format!("`payload` is not JSON: {e}")))?;
    match v.get("type").and_then(Value::as_str) {
        Some("block_actions") => {}
        Some(t) => {
            return Err(Refusal::BadPayload(format!(
                "interaction type `{t}`, expected `block_actions`"
            )))
        }
        None => return Err(bad("no `type` in the payload")),
    }
    let user_id = text_at(&v, "/user/id").ok_or_else(|| bad("no `user.id` in the payload"))?;
    let user_name = text_at(&v, "/user/username")
        .or_else(|| text_at(&v, "/user/name"))
        .unwrap_or_else(|| user_id.clone());
    let first = v
        .get("actions")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .ok_or_else(|| bad("no `actions` in the payload"))?;
    let action_id = text_at(first, "/action_id").ok_or_else(|| bad("no `actions[0].action_id`"))?;
    let action = Action::from_action_id(&action_id).ok_or(Refusal::UnknownAction(action_id))?;
    let incident =
        text_at(first, "/value").ok_or_else(|| bad("no `actions[0].value` (the incident id)"))?;
    Ok(Click {
        action,
        incident,
        user_id,
        user_name,
        team: text_at(&v, "/team/id").or_else(|| text_at(&v, "/user/team_id")),
        response_url: text_at(&v, "/response_url"),
        channel: text_at(&v, "/channel/id").or_else(|| text_at(&v, "/container/channel_id")),
        message_ts: text_at(&v, "/container/message_ts").or_else(|| text_at(&v, "/message/ts")),
    })
}

fn button(label: &str, action: Action, incident_id: &str) -> Value {
    json!({
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action.action_id(),
        "value": incident_id,
    })
}

/// The Block Kit `actions` block of an incident's message: "Acknowledge"
/// and, when `client_notice` (a major or critical incident), "Client
/// notified"; their value is the incident id. None when the id is empty or
/// longer than a button's value may be (the message's text still gives the
/// CLI command).
pub fn buttons(incident_id: &str, client_notice: bool) -> Option<Value> {
    if incident_id.is_empty() || incident_id.chars().count() > MAX_VALUE_CHARS {
        return None;
    }
    let mut ack = button("Acknowledge", Action::Ack, incident_id);
    ack["style"] = json!("primary");
    let mut elements = vec![ack];
    if client_notice {
        elements.push(button(
            "Client notified",
            Action::ClientNotified,
            incident_id,
        ));
    }
    Some(json!({"type": "actions", "block_id": BLOCK_ID, "elements": elements}))
}

/// The body the interactivity URL answers Slack with: a message only the
/// clicking user sees, the original message left as it is.
pub fn reply(text: &str) -> Value {
    json!({"response_type": "ephemeral", "replace_original": false, "text": text})
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Slack's documented example ("Verifying requests from Slack").
    const DOC_SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const DOC_TS: &str = "1531420618";
    const DOC_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const DOC_SIGNATURE: &str =
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    const INCIDENT: &str = "audit#rds-instance#db@2025-11-23T06:00:00Z";

    fn at(ts: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(ts, 0).expect("in range")
    }

    fn doc_now() -> DateTime<Utc> {
        at(DOC_TS.parse().expect("digits"))
    }

    /// A `block_actions` payload as Slack posts it on a click, form-encoded.
    fn click_body(action_id: &str, value: &str) -> Vec<u8> {
        let payload = json!({
            "type": "block_actions",
            "user": {"id": "U0123ABC", "username": "alice", "name": "alice", "team_id": "T0456DEF"},
            "api_app_id": "A0789GHI",
            "token": "Shh_its_a_verification_token",
            "container": {"type": "message", "message_ts": "1763877973.000200", "channel_id": "C0INCIDENTS", "is_ephemeral": false},
            "trigger_id": "8123456789012.4567890123.0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            "team": {"id": "T0456DEF", "domain": "rewapp"},
            "enterprise": null,
            "is_enterprise_install": false,
            "channel": {"id": "C0INCIDENTS", "name": "incidents"},
            "message": {"type": "message", "subtype": "bot_message", "text": "[critical] Incident opened", "ts": "1763877973.000200", "bot_id": "B0BOT", "blocks": []},
            "state": {"values": {}},
            "response_url": "https://hooks.slack.com/actions/T0456DEF/8123456789012/AbCdEfGhIjKlMnOpQrStUvWx",
            "actions": [{
                "action_id": action_id,
                "block_id": BLOCK_ID,
                "text": {"type": "plain_text", "text": "Acknowledge", "emoji": true},
                "value": value,
                "style": "primary",
                "type": "button",
                "action_ts": "1763878001.123456"
            }]
        });
        form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish()
            .into_bytes()
    }

    /// Proves: the signature of Slack's documented example is the one
    /// Slack's documentation gives (the base string is built as Slack
    /// builds it), and `verify` accepts it at the request's own time.
    #[test]
    fn slacks_documented_example_signs_and_verifies() {
        assert_eq!(sign(DOC_SECRET, DOC_TS, DOC_BODY.as_bytes()), DOC_SIGNATURE);
        assert_eq!(
            verify(
                DOC_SECRET,
                DOC_TS,
                DOC_SIGNATURE,
                DOC_BODY.as_bytes(),
                doc_now()
            ),
            Ok(())
        );
    }

    /// Proves: one byte of the body changed, or another secret, and the
    /// signature no longer matches.
    #[test]
    fn a_changed_body_or_secret_is_refused() {
        let mut body = DOC_BODY.as_bytes().to_vec();
        body[10] ^= 0x01;
        let r = verify(DOC_SECRET, DOC_TS, DOC_SIGNATURE, &body, doc_now());
        assert_eq!(r, Err(Refusal::BadSignature));
        assert_eq!(r.unwrap_err().status(), 401);
        assert_eq!(
            verify(
                b"another-secret",
                DOC_TS,
                DOC_SIGNATURE,
                DOC_BODY.as_bytes(),
                doc_now()
            ),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            verify(b"", DOC_TS, DOC_SIGNATURE, DOC_BODY.as_bytes(), doc_now()),
            Err(Refusal::BadSignature),
            "an empty secret verifies nothing"
        );
    }

    /// Proves: a request 301 s old or 301 s ahead is refused as stale
    /// whatever its signature (the timestamp is checked before the HMAC),
    /// and 300 s either way is still accepted.
    #[test]
    fn a_stale_timestamp_is_refused_before_the_signature() {
        let ts: i64 = DOC_TS.parse().expect("digits");
        let body = DOC_BODY.as_bytes();
        for (now, skew_s) in [(ts + 301, 301), (ts - 301, -301)] {
            for signature in [DOC_SIGNATURE, "v0=not-even-hex"] {
                let r = verify(DOC_SECRET, DOC_TS, signature, body, at(now));
                assert_eq!(r, Err(Refusal::Stale { skew_s }));
            }
        }
        for now in [ts + 300, ts - 300] {
            assert_eq!(
                verify(DOC_SECRET, DOC_TS, DOC_SIGNATURE, body, at(now)),
                Ok(())
            );
        }
        let old = Refusal::Stale { skew_s: 412 };
        assert_eq!(old.status(), 401);
        assert_eq!(
            old.to_string(),
            "request timestamp is 412 s old: older than 5 minutes (a replay, or a clock off)"
        );
        assert!(Refusal::Stale { skew_s: -400 }
            .to_string()
            .contains("400 s in the future"));
    }

    /// Proves: a signature header that is not `v0=` and 64 hex digits, a
    /// timestamp that is not Unix seconds, and a missing header are refused
    /// (401 each).
    #[test]
    fn malformed_headers_are_refused() {
        let body = DOC_BODY.as_bytes();
        let hexes = &DOC_SIGNATURE[3..];
        for bad in [
            hexes.to_string(),
            format!("v1={hexes}"),
            format!("v0={}", &hexes[..63]),
            format!("v0={hexes}0"),
            format!("v0={}g", &hexes[..63]),
            format!("v0= {hexes}"),
            "v0=".to_string(),
        ] {
            assert_eq!(
                verify(DOC_SECRET, DOC_TS, &bad, body, doc_now()),
                Err(Refusal::BadSignature),
                "{bad}"
            );
        }
        for ts in [
            "-1531420618",
            "+1531420618",
            "1531420618.5",
            "soon",
            "99999999999999999999",
        ] {
            assert_eq!(
                verify(DOC_SECRET, ts, DOC_SIGNATURE, body, doc_now()),
                Err(Refusal::BadTimestamp),
                "{ts}"
            );
        }
        assert_eq!(
            verify(DOC_SECRET, "", DOC_SIGNATURE, body, doc_now()),
            Err(Refusal::MissingHeader("X-Slack-Request-Timestamp"))
        );
        let missing = verify(DOC_SECRET, DOC_TS, "", body, doc_now());
        assert_eq!(missing, Err(Refusal::MissingHeader("X-Slack-Signature")));
        assert_eq!(missing.unwrap_err().status(), 401);
        assert_eq!(Refusal::BadTimestamp.status(), 401);
        assert_eq!(
            Refusal::BadSignature.to_string(),
            "request signature does not match (is the signing secret the Slack app's?)"
        );
    }

    /// Proves: a click on "Acknowledge" as Slack posts it reads as the
    /// action, the incident id (the button's value), the user, team,
    /// channel, message and response URL; `by` names the Slack user.
    #[test]
    fn a_block_actions_click_parses() {
        let click = parse(&click_body(ACTION_ACK, INCIDENT)).expect("a click");
        assert_eq!(
            click,
            Click {
                action: Action::Ack,
                incident: INCIDENT.into(),
                user_id: "U0123ABC".into(),
                user_name: "alice".into(),
                team: Some("T0456DEF".into()),
                response_url: Some(
                    "https://hooks.slack.com/actions/T0456DEF/8123456789012/AbCdEfGhIjKlMnOpQrStUvWx"
                        .into()
                ),
                channel: Some("C0INCIDENTS".into()),
                message_ts: Some("1763877973.000200".into()),
            }
        );
        assert_eq!(click.by(), "slack:alice (U0123ABC)");
        let notified = parse(&click_body(ACTION_CLIENT_NOTIFIED, INCIDENT)).expect("a click");
        assert_eq!(notified.action, Action::ClientNotified);
    }

    /// Proves: a click on a button that is not Rempart's is refused as an
    /// unknown action (400), naming it.
    #[test]
    fn an_unknown_action_is_refused() {
        let r = parse(&click_body("approve_deploy", INCIDENT));
        assert_eq!(r, Err(Refusal::UnknownAction("approve_deploy".into())));
        let e = r.unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.to_string().contains("approve_deploy"));
    }

    /// Proves: a body without the `payload` field, a payload that is not
    /// JSON, another interaction type, and payloads missing the user, the
    /// actions or the button's value are refused as bad payloads (400)
    /// naming what is missing.
    #[test]
    fn a_payload_missing_what_a_click_needs_is_refused() {
        let bad = |body: &[u8]| match parse(body) {
            Err(e @ Refusal::BadPayload(_)) => {
                assert_eq!(e.status(), 400);
                e.to_string()
            }
            other => panic!("expected a bad payload, got {other:?}"),
        };
        assert!(bad(b"token=x&team_id=T1").contains("`payload`"));
        assert!(bad(b"").contains("`payload`"));
        assert!(bad(b"payload=%7Bnot+json").contains("not JSON"));
        let form = |v: Value| {
            form_urlencoded::Serializer::new(String::new())
                .append_pair("payload", &v.to_string())
                .finish()
                .into_bytes()
        };
        assert!(bad(&form(
            json!({"type": "view_submission", "user": {"id": "U1"}})
        ))
        .contains("view_submission"));
        assert!(bad(&form(json!({"user": {"id": "U1"}}))).contains("`type`"));
        let action = json!({"action_id": ACTION_ACK, "value": INCIDENT});
        assert!(
            bad(&form(json!({"type": "block_actions", "actions": [action]}))).contains("user.id")
        );
        assert!(bad(&form(
            json!({"type": "block_actions", "user": {"id": "U1"}, "actions": []})
        ))
        .contains("actions"));
        assert!(bad(&form(json!({"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": ACTION_ACK}]}))).contains("value"));
        assert!(bad(&form(
            json!({"type": "block_actions", "user": {"id": "U1"}, "actions": [{"value": INCIDENT}]})
        ))
        .contains("action_id"));
        // A user without a handle is named by id.
        let c = parse(&form(
            json!({"type": "block_actions", "user": {"id": "U1"}, "actions": [action]}),
        ))
        .expect("a click");
        assert_eq!(
            (c.by(), c.team, c.channel),
            ("slack:U1 (U1)".to_string(), None, None)
        );
    }

    /// Proves: the buttons block carries "Acknowledge" (primary) and, for a
    /// client notice, "Client notified", both valued with the incident id;
    /// an id too long for a button's value (or empty) gets no buttons; the
    /// reply is ephemeral and leaves the message as it is.
    #[test]
    fn buttons_and_reply_are_slacks_shapes() {
        let b = buttons(INCIDENT, true).expect("buttons");
        assert_eq!(b["type"], "actions");
        assert_eq!(b["block_id"], BLOCK_ID);
        let e = b["elements"].as_array().expect("elements");
        assert_eq!(e.len(), 2);
        assert_eq!(
            (&e[0]["action_id"], &e[0]["value"], &e[0]["style"]),
            (&json!(ACTION_ACK), &json!(INCIDENT), &json!("primary"))
        );
        assert_eq!(e[0]["text"]["text"], "Acknowledge");
        assert_eq!(
            (&e[1]["action_id"], &e[1]["value"]),
            (&json!(ACTION_CLIENT_NOTIFIED), &json!(INCIDENT))
        );
        let only_ack = buttons(INCIDENT, false).expect("buttons");
        assert_eq!(only_ack["elements"].as_array().map(Vec::len), Some(1));
        assert!(buttons(&"é".repeat(MAX_VALUE_CHARS), true).is_some());
        assert!(buttons(&"é".repeat(MAX_VALUE_CHARS + 1), true).is_none());
        assert!(buttons("", true).is_none());
        assert_eq!(
            reply("Acknowledged."),
            json!({"response_type": "ephemeral", "replace_original": false, "text": "Acknowledged."})
        );
    }

    proptest! {
        /// Proves: for any body, secret and timestamp, `verify` accepts the
        /// signature `sign` computes, and refuses it once any single byte
        /// of the body is changed.
        #[test]
        fn sign_verifies_and_any_flipped_byte_does_not(
            secret in proptest::collection::vec(any::<u8>(), 1..64),
            body in proptest::collection::vec(any::<u8>(), 1..512),
            ts in 1_000_000_000i64..4_000_000_000,
            skew in -MAX_SKEW_S..=MAX_SKEW_S,
            index in any::<proptest::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let stamp = ts.to_string();
            let signature = sign(&secret, &stamp, &body);
            let now = at(ts + skew);
            prop_assert_eq!(verify(&secret, &stamp, &signature, &body, now), Ok(()));
            let mut changed = body.clone();
            changed[index.index(body.len())] ^= flip;
            prop_assert_eq!(
                verify(&secret, &stamp, &signature, &changed, now),
                Err(Refusal::BadSignature)
            );
        }
    }
}
