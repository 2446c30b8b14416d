//! AWS's documented naming rules for everything Rempart generates:
//! identifiers, tag keys and values, DynamoDB items. Each rule is written
//! once here; the generators (snapshot ids, restore instance ids, tags,
//! registry items) are property-tested against them, and the product uses
//! them to refuse input that would make AWS reject a call.
//!
//! The rules, as AWS's API references state them (quoted in the SDK models):
//!
//! - RDS `DBInstanceIdentifier` and `DBClusterIdentifier`: 1 to 63 letters,
//!   digits or hyphens, the first a letter, no two consecutive hyphens, no
//!   trailing hyphen.
//! - RDS `DBSnapshotIdentifier` (`CreateDBSnapshot`, `CopyDBSnapshot`'s
//!   target): the same, 1 to 255.
//! - RDS `DBClusterSnapshotIdentifier` (`CreateDBClusterSnapshot`,
//!   `CopyDBClusterSnapshot`'s target): the same, **1 to 63**.
//! - ElastiCache `SnapshotName` (`CreateSnapshot`, `CopySnapshot`'s target,
//!   also the object name prefix of an export to S3): "stored as a lowercase
//!   string", no other rule in the API reference; serverless snapshot names
//!   are 1 to 255 characters. Rempart holds its names to the RDS rules and
//!   255.
//! - Tags. RDS: key 1-128 and value 0-256 Unicode characters of
//!   `[\p{L}\p{Z}\p{N}_.:/=+\-@]`, neither prefixed with `aws:` or `rds:`.
//!   EC2: key at most 127 Unicode characters, not beginning with `aws:`;
//!   value at most 256. ElastiCache (CloudFormation's patterns for its tags):
//!   key `^(?!aws:)[a-zA-Z0-9 _.\/=+:\-@]*$`, 1-128; value
//!   `^[a-zA-Z0-9 _.\/=+:\-@]*$`, 0-256. All three: at most 50 tags per
//!   resource, and the general rule reserves `aws:` (in any case) as a prefix
//!   of keys and values.
//! - DynamoDB: an item is at most 400 KB (attribute names and values, UTF-8);
//!   a partition key value 1 to 2048 bytes, a sort key value 1 to 1024 bytes.
//!
//! Rempart writes the same tags on RDS, EC2 and ElastiCache resources (a
//! policy covers several kinds, DR copies carry their source's tags), so the
//! rule it applies to every tag it writes is the intersection of the three:
//! [`valid_tag_key`], [`valid_tag_value`].

use crate::kind::ResourceKind;
use std::sync::OnceLock;

/// RDS DB instance identifiers: 1 to 63 characters.
pub const RDS_INSTANCE_ID_MAX: usize = 63;
/// RDS (Aurora) DB cluster identifiers: 1 to 63 characters.
pub const RDS_CLUSTER_ID_MAX: usize = 63;
/// RDS DB snapshot identifiers: 1 to 255 characters.
pub const RDS_SNAPSHOT_ID_MAX: usize = 255;
/// RDS DB cluster snapshot identifiers: 1 to 63 characters.
pub const RDS_CLUSTER_SNAPSHOT_ID_MAX: usize = 63;
/// ElastiCache snapshot names: 1 to 255 characters (the limit AWS gives for
/// serverless snapshot names; `CreateSnapshot`'s reference gives none).
pub const ELASTICACHE_SNAPSHOT_NAME_MAX: usize = 255;
/// ElastiCache replication group ids: 1 to 40 characters.
pub const ELASTICACHE_GROUP_ID_MAX: usize = 40;
/// Tag keys: at most 128 Unicode characters (RDS, ElastiCache).
pub const TAG_KEY_MAX: usize = 128;
/// EC2 tag keys: at most 127 Unicode characters.
pub const EC2_TAG_KEY_MAX: usize = 127;
/// Tag values: at most 256 Unicode characters (RDS, EC2, ElastiCache).
pub const TAG_VALUE_MAX: usize = 256;
/// Tags per resource (RDS, EC2, ElastiCache).
pub const TAGS_PER_RESOURCE_MAX: usize = 50;
/// DynamoDB: an item, attribute names and values, in bytes (400 KB).
pub const DYNAMODB_ITEM_MAX: usize = 400 * 1024;
/// DynamoDB: a partition key value, in bytes.
pub const DYNAMODB_PARTITION_KEY_MAX: usize = 2048;
/// DynamoDB: a sort key value, in bytes.
pub const DYNAMODB_SORT_KEY_MAX: usize = 1024;
/// Rempart's own bound on the snapshot identifiers it generates (below
/// RDS's and ElastiCache's 255): a snapshot's ARN (`rempart:copy-of` on its
/// DR copies) and its export URL (`rempart:export=s3://<bucket>/<id>`) embed
/// the id and must stay valid 256-character tag values. The longest ARN
/// prefix is `arn:aws-us-gov:rds:us-gov-west-1:123456789012:cluster-snapshot:`
/// (63 characters), the longest URL prefix `s3://` + a 63-character bucket +
/// `/` (69): 180 leaves room for both, with regions up to 20 characters.
pub const SNAPSHOT_ID_MAX: usize = 180;

/// Splits `s3://bucket/prefix`.
pub fn parse_s3_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/')?;
    (!bucket.is_empty() && !prefix.is_empty()).then(|| (bucket.to_string(), prefix.to_string()))
}

/// Letters, digits and hyphens, a letter first, no `--`, no trailing `-`,
/// 1 to `max` characters: RDS's identifier rule.
fn rds_style(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.contains("--")
        && !s.ends_with('-')
}

/// A valid RDS DB instance identifier.
pub fn valid_rds_instance_id(s: &str) -> bool {
    rds_style(s, RDS_INSTANCE_ID_MAX)
}

/// A valid RDS (Aurora) DB cluster identifier.
pub fn valid_rds_cluster_id(s: &str) -> bool {
    rds_style(s, RDS_CLUSTER_ID_MAX)
}

/// A valid RDS DB (instance) snapshot identifier.
pub fn valid_rds_snapshot_id(s: &str) -> bool {
    rds_style(s, RDS_SNAPSHOT_ID_MAX)
}

/// A valid RDS DB cluster snapshot identifier.
pub fn valid_rds_cluster_snapshot_id(s: &str) -> bool {
    rds_style(s, RDS_CLUSTER_SNAPSHOT_ID_MAX)
}

/// A valid ElastiCache snapshot name (and export name).
pub fn valid_elasticache_snapshot_name(s: &str) -> bool {
    rds_style(s, ELASTICACHE_SNAPSHOT_NAME_MAX)
}

/// The longest snapshot identifier Rempart generates for a kind: 63 for
/// Aurora cluster snapshots, [`SNAPSHOT_ID_MAX`] otherwise.
pub fn snapshot_id_max(kind: ResourceKind) -> usize {
    match kind {
        ResourceKind::AuroraCluster => RDS_CLUSTER_SNAPSHOT_ID_MAX,
        _ => SNAPSHOT_ID_MAX,
    }
}

/// Whether `s` is a snapshot identifier Rempart may generate for `kind`:
/// valid for the service (RDS, ElastiCache; for EBS, the `rempart:key` and
/// `Name` tag values), lower case, at most [`snapshot_id_max`].
pub fn valid_snapshot_id(kind: ResourceKind, s: &str) -> bool {
    let service = match kind {
        ResourceKind::RdsInstance => valid_rds_snapshot_id(s),
        ResourceKind::AuroraCluster => valid_rds_cluster_snapshot_id(s),
        ResourceKind::ElasticacheRedis => valid_elasticache_snapshot_name(s),
        ResourceKind::EbsVolume => valid_tag_value(s),
    };
    service && rds_style(s, snapshot_id_max(kind)) && !s.bytes().any(|b| b.is_ascii_uppercase())
}

/// A valid S3 general purpose bucket name: 3 to 63 lowercase letters,
/// digits, dots and hyphens, beginning and ending with a letter or digit,
/// no `..`, not an IP address, none of S3's reserved prefixes and suffixes.
pub fn valid_s3_bucket_name(s: &str) -> bool {
    let ip = s.split('.').count() == 4 && s.split('.').all(|p| p.parse::<u8>().is_ok());
    (3..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !s.contains("..")
        && !ip
        && !["xn--", "sthree-", "amzn-s3-demo-"]
            .iter()
            .any(|p| s.starts_with(p))
        && !["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]
            .iter()
            .any(|x| s.ends_with(x))
}

// ---------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------

/// The punctuation every service allows in tags, besides letters, digits and
/// spaces.
const TAG_PUNCTUATION: &str = "_.:/=+-@";

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// `[\p{L}\p{Z}\p{N}]`, as Unicode code point ranges.
fn letters_separators_digits() -> &'static [(char, char)] {
    static RANGES: OnceLock<Vec<(char, char)>> = OnceLock::new();
    RANGES.get_or_init(|| {
        use regex_syntax::hir::{Class, HirKind};
        let hir = regex_syntax::parse(r"[\p{L}\p{Z}\p{N}]").expect("a valid class");
        match hir.kind() {
            HirKind::Class(Class::Unicode(c)) => {
                c.ranges().iter().map(|r| (r.start(), r.end())).collect()
            }
            other => unreachable!("a class parses to a class, not {other:?}"),
        }
    })
}

/// A character of RDS's tag pattern `[\p{L}\p{Z}\p{N}_.:/=+\-@]`.
fn rds_tag_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == ' ' || TAG_PUNCTUATION.contains(c);
    }
    letters_separators_digits()
        .binary_search_by(|&(a, b)| {
            if b < c {
                std::cmp::Ordering::Less
            } else if a > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// A character of ElastiCache's tag pattern `[a-zA-Z0-9 _.\/=+:\-@]`.
fn elasticache_tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ' ' || TAG_PUNCTUATION.contains(c)
}

fn rds_reserved(s: &str) -> bool {
    starts_with_ignore_case(s, "aws:") || starts_with_ignore_case(s, "rds:")
}

/// A valid RDS tag key.
pub fn valid_rds_tag_key(k: &str) -> bool {
    (1..=TAG_KEY_MAX).contains(&k.chars().count())
        && k.chars().all(rds_tag_char)
        && !rds_reserved(k)
}

/// A valid RDS tag value.
pub fn valid_rds_tag_value(v: &str) -> bool {
    v.chars().count() <= TAG_VALUE_MAX && v.chars().all(rds_tag_char) && !rds_reserved(v)
}

/// A valid EC2 tag key.
pub fn valid_ec2_tag_key(k: &str) -> bool {
    (1..=EC2_TAG_KEY_MAX).contains(&k.chars().count()) && !starts_with_ignore_case(k, "aws:")
}

/// A valid EC2 tag value.
pub fn valid_ec2_tag_value(v: &str) -> bool {
    v.chars().count() <= TAG_VALUE_MAX
}

/// A valid ElastiCache tag key.
pub fn valid_elasticache_tag_key(k: &str) -> bool {
    (1..=TAG_KEY_MAX).contains(&k.len())
        && k.chars().all(elasticache_tag_char)
        && !starts_with_ignore_case(k, "aws:")
}

/// A valid ElastiCache tag value.
pub fn valid_elasticache_tag_value(v: &str) -> bool {
    v.len() <= TAG_VALUE_MAX && v.chars().all(elasticache_tag_char)
}

/// A tag key valid on RDS, EC2 and ElastiCache resources alike.
pub fn valid_tag_key(k: &str) -> bool {
    valid_rds_tag_key(k) && valid_ec2_tag_key(k) && valid_elasticache_tag_key(k)
}

/// A tag value valid on RDS, EC2 and ElastiCache resources alike (and not
/// prefixed with `aws:`, which the general rule reserves).
pub fn valid_tag_value(v: &str) -> bool {
    valid_rds_tag_value(v) && valid_ec2_tag_value(v) && valid_elasticache_tag_value(v)
}

/// The rule a tag value must follow, for error messages.
pub const TAG_VALUE_RULE: &str =
    "at most 256 letters, digits, spaces and _ . : / = + - @, not starting with aws: or rds:";

/// Checks a set of tags Rempart is about to write on any resource: at most
/// [`TAGS_PER_RESOURCE_MAX`], distinct keys, each key and value valid on
/// every service. The error names the first offending tag.
pub fn check_tags(tags: &[(String, String)]) -> std::result::Result<(), String> {
    if tags.len() > TAGS_PER_RESOURCE_MAX {
        return Err(format!(
            "{} tags, more than the {TAGS_PER_RESOURCE_MAX} AWS allows on a resource",
            tags.len()
        ));
    }
    let mut keys = std::collections::BTreeSet::new();
    for (k, v) in tags {
        if !valid_tag_key(k) {
            return Err(format!(
                "`{k}` is not a valid tag key (1-127 ASCII letters, digits, spaces and _ . : / = + - @, not starting with aws: or rds:)"
            ));
        }
        if !keys.insert(k.as_str()) {
            return Err(format!("tag `{k}` is given twice"));
        }
        if !valid_tag_value(v) {
            return Err(format!(
                "the value `{v}` of tag `{k}` is not a valid tag value ({TAG_VALUE_RULE})"
            ));
        }
    }
    Ok(())
}

/// Folds the accented Latin letters of Western European text to ASCII
/// (`é` → `e`, `ß` → `ss`); `None` for anything else.
fn fold_latin(c: char) -> Option<&'static str> {
    const FROM: &str = "ÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖØòóôõöøÙÚÛÜùúûüÝýÿ";
    const TO: &[&str] = &[
        "A", "A", "A", "A", "A", "A", "a", "a", "a", "a", "a", "a", "C", "c", "E", "E", "E", "E",
        "e", "e", "e", "e", "I", "I", "I", "I", "i", "i", "i", "i", "N", "n", "O", "O", "O", "O",
        "O", "O", "o", "o", "o", "o", "o", "o", "U", "U", "U", "U", "u", "u", "u", "u", "Y", "y",
        "y",
    ];
    match c {
        'Æ' => Some("AE"),
        'æ' => Some("ae"),
        'Œ' => Some("OE"),
        'œ' => Some("oe"),
        'ß' => Some("ss"),
        _ => FROM.chars().position(|f| f == c).map(|i| TO[i]),
    }
}

/// Makes free text (a reason, a requester) a tag value that every service
/// accepts: accented Latin letters lose their accents, anything but ASCII
/// letters, digits, spaces and `_ . : / = + - @` becomes a space, at most
/// 256 characters, trimmed, and a leading `aws:` or `rds:` (reserved) loses
/// its colon.
pub fn tag_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(TAG_VALUE_MAX));
    let mut n = 0;
    for c in s.chars() {
        let mut push = |piece: &str| {
            for p in piece.chars() {
                if n < TAG_VALUE_MAX {
                    out.push(p);
                    n += 1;
                }
            }
        };
        if elasticache_tag_char(c) {
            push(&*c.encode_utf8(&mut [0; 4]));
        } else if let Some(f) = fold_latin(c) {
            push(f);
        } else {
            push(" ");
        }
        if n >= TAG_VALUE_MAX {
            break;
        }
    }
    let mut out = out.trim().to_string();
    if rds_reserved(&out) {
        out.replace_range(3..4, " ");
        out.truncate(out.trim_end().len());
    }
    out
}

// ---------------------------------------------------------------------------
// Fitting generated names into their limits
// ---------------------------------------------------------------------------

/// Lower-cases and replaces anything but `[a-z0-9]` with `-`, collapses runs
/// of `-` and trims them at the ends: the intersection of what RDS,
/// ElastiCache and EC2 accept in identifiers and tag values. May be empty.
pub fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Eight hex digits of FNV-1a over `parts`: stable across runs and
/// versions, so a shortened name is the same at every delivery.
pub fn short_hash(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    format!("{:08x}", (h ^ (h >> 32)) as u32)
}

/// The longest prefix of `s` of at most `max` bytes that ends on a
/// character boundary.
pub fn fit_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `s` if it has at most `max` bytes, else a prefix of it with `~` and
/// [`short_hash`] of the whole: deterministic, and distinct for distinct
/// long inputs (up to the hash). For DynamoDB keys.
pub fn fit_key(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let hash = short_hash(&[s]);
    format!(
        "{}~{hash}",
        fit_bytes(s, max.saturating_sub(hash.len() + 1))
    )
}

fn assemble(head: &str, parts: &[&str], tail: &str) -> String {
    std::iter::once(head)
        .chain(parts.iter().copied())
        .chain(std::iter::once(tail))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// `head-part-…-tail` (empty parts left out) if that has at most `max`
/// characters. Else the parts are cut, the longest first, and a
/// [`short_hash`] of the uncut parts goes before the tail, so two long names
/// that share a prefix stay distinct: `head-<cut parts>-<hash>-tail`
/// ([`hashed_id`]). Parts are slugs ([`slug`]); `head` and `tail` are valid
/// identifier pieces, and `head`, the hash and `tail` fit in `max`.
pub fn fit_id(head: &str, parts: &[&str], tail: &str, max: usize) -> String {
    let full = assemble(head, parts, tail);
    if full.len() <= max {
        return full;
    }
    hashed_id(head, parts, tail, max, &short_hash(parts))
}

/// `head-<parts>-<hash>-tail` in at most `max` characters: the parts are
/// cut, the longest first, as far as needed (not at all if they fit).
pub fn hashed_id(head: &str, parts: &[&str], tail: &str, max: usize, hash: &str) -> String {
    let fixed = head.len() + 1 + hash.len() + if tail.is_empty() { 0 } else { tail.len() + 1 };
    debug_assert!(fixed <= max, "{head}…{tail} cannot fit in {max}");
    let room = max.saturating_sub(fixed);
    // The largest cap on each part's length with which the parts and their
    // separators fit in `room`.
    let cost = |cap: usize| -> usize {
        parts
            .iter()
            .map(|p| p.len().min(cap))
            .filter(|&l| l > 0)
            .map(|l| l + 1)
            .sum()
    };
    let (mut lo, mut hi) = (0, parts.iter().map(|p| p.len()).max().unwrap_or(0));
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if cost(mid) <= room {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let cut: Vec<&str> = parts
        .iter()
        .map(|p| fit_bytes(p, lo).trim_end_matches('-'))
        .chain(std::iter::once(hash))
        .collect();
    let id = assemble(head, &cut, tail);
    if id.len() <= max {
        id
    } else {
        // Unreachable with Rempart's heads and tails (see the debug_assert).
        fit_bytes(&id, max).trim_end_matches('-').to_string()
    }
}

/// An ARN's parts: `(partition, service, region, account, resource)`.
pub fn arn_parts(arn: &str) -> Option<(&str, &str, &str, &str, &str)> {
    let mut it = arn.splitn(6, ':');
    if it.next()? != "arn" {
        return None;
    }
    let (p, s, r, a, res) = (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    Some((p, s, r, a, res))
}

/// The partition of a region's ARNs (`aws-cn` in China, `aws-us-gov` in
/// GovCloud, `aws` elsewhere), for the ARNs Rempart writes itself (EC2 and
/// S3 answers carry none).
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

pub fn valid_account_id(a: &str) -> bool {
    a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Proves: ARNs written for China and GovCloud regions name their
    /// partitions, as AWS's own ARNs there do.
    #[test]
    fn each_region_writes_the_arns_of_its_partition() {
        assert_eq!(partition_of("eu-west-1"), "aws");
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of("us-east-1"), "aws");
    }

    /// Proves: the validators accept AWS's own examples and refuse each
    /// broken rule (first letter, `--`, trailing `-`, length, charset).
    #[test]
    fn the_identifier_rules_are_the_documented_ones() {
        for ok in ["my-snapshot-id", "a", "rempart-rt-db-202511230600"] {
            assert!(valid_rds_instance_id(ok), "{ok}");
            assert!(valid_rds_snapshot_id(ok), "{ok}");
            assert!(valid_rds_cluster_snapshot_id(ok), "{ok}");
            assert!(valid_elasticache_snapshot_name(ok), "{ok}");
        }
        for bad in ["", "1db", "-db", "db-", "d--b", "d_b", "dé", "d b"] {
            assert!(!valid_rds_instance_id(bad), "{bad}");
            assert!(!valid_rds_snapshot_id(bad), "{bad}");
        }
        let long = format!("a{}", "b".repeat(62));
        assert!(valid_rds_instance_id(&long) && valid_rds_cluster_snapshot_id(&long));
        let longer = format!("{long}c");
        assert!(!valid_rds_instance_id(&longer) && !valid_rds_cluster_id(&longer));
        assert!(!valid_rds_cluster_snapshot_id(&longer) && valid_rds_snapshot_id(&longer));
        assert!(
            valid_rds_snapshot_id(&"a".repeat(255)) && !valid_rds_snapshot_id(&"a".repeat(256))
        );
    }

    /// Proves: the tag rules of each service are the documented ones:
    /// Unicode letters in RDS but not ElastiCache, the `aws:`/`rds:`
    /// prefixes, the 127/128/256 limits.
    #[test]
    fn the_tag_rules_are_the_documented_ones() {
        assert!(valid_rds_tag_value("Hélène Dupont") && valid_ec2_tag_value("Hélène Dupont"));
        assert!(!valid_elasticache_tag_value("Hélène Dupont"));
        assert!(valid_rds_tag_value("李明") && valid_rds_tag_value("١٢٣"));
        // A Devanagari vowel sign is alphabetic for Rust but a mark (Mc), not \p{L}.
        assert!('\u{0940}'.is_alphabetic() && !valid_rds_tag_value("\u{0940}"));
        assert!(!valid_rds_tag_value("a,b") && !valid_rds_tag_value("(x)"));
        assert!(!valid_rds_tag_value("aws:x") && !valid_rds_tag_value("RDS:x"));
        assert!(valid_ec2_tag_value("a,b") && !valid_ec2_tag_key("AWS:x"));
        assert!(valid_tag_value(
            "arn:aws:rds:eu-west-1:123456789012:snapshot:rempart-x"
        ));
        assert!(valid_tag_value("s3://rewapp-prod-backups/rempart-x") && valid_tag_value(""));
        assert!(valid_tag_value(&"a".repeat(256)) && !valid_tag_value(&"a".repeat(257)));
        assert!(valid_rds_tag_key(&"k".repeat(128)) && !valid_ec2_tag_key(&"k".repeat(128)));
        assert!(valid_tag_key(&"k".repeat(127)) && !valid_tag_key(""));
        let many: Vec<(String, String)> = (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
        assert!(check_tags(&many[..50]).is_ok() && check_tags(&many).is_err());
    }

    /// Proves: the accent folding table pairs every accented letter with its
    /// ASCII letter.
    #[test]
    fn the_folding_table_is_aligned() {
        assert_eq!(
            tag_value("ÀÉÎÕÜÇÑÝàéîõüçñýÿÆæŒœß"),
            "AEIOUCNYaeioucnyyAEaeOEoess"
        );
    }

    /// Proves: every tag key Rempart writes, and every fixed-form value
    /// (times, tier lists, kinds, `true`), is valid on every service.
    #[test]
    fn every_tag_key_and_fixed_value_rempart_writes_is_valid() {
        use crate::model::*;
        use crate::tags::*;
        let keys = [
            TAG_APPROVED_BY,
            TAG_CHANGE_REF,
            TAG_COPY_OF,
            TAG_DELETE_AFTER,
            TAG_EXPORT,
            TAG_KEY,
            TAG_MANAGED,
            TAG_POLICY,
            TAG_REASON,
            TAG_REQUESTED_BY,
            TAG_RESTORE_COMPLETED,
            TAG_RESTORE_FINISHED,
            TAG_RESTORE_POINT,
            TAG_RESTORE_REQUEST,
            TAG_RESTORE_SNAPSHOT,
            TAG_RESTORE_SOURCE,
            TAG_RESTORE_STARTED,
            TAG_RESTORE_TEST,
            TAG_DRILL,
            TAG_SCHEDULE,
            TAG_SCHEDULED_AT,
            TAG_SOURCE,
            TAG_SOURCE_KIND,
            TAG_TIERS,
            TAG_VERIFIED,
            "Name",
        ];
        for k in keys
            .iter()
            .copied()
            .chain([dr_copy_tag("us-gov-west-1").as_str()])
        {
            assert!(valid_tag_key(k), "{k}");
        }
        let tiers = [
            Tier::Hourly,
            Tier::Daily,
            Tier::Weekly,
            Tier::Monthly,
            Tier::Yearly,
            Tier::OnDemand,
        ];
        assert!(valid_tag_value(&tiers_tag_value(&tiers)));
        for k in ResourceKind::ALL {
            assert!(valid_tag_value(k.as_str()));
        }
        assert!(valid_tag_value("true"));
        for secs in [0, 1_764_000_000, 4_000_000_000] {
            let t = chrono::DateTime::<chrono::Utc>::from_timestamp(secs, 0).unwrap();
            assert!(valid_tag_value(&crate::time::rfc3339(t)));
        }
    }

    /// Proves: S3 bucket names follow S3's general purpose bucket rules.
    #[test]
    fn bucket_names_follow_s3s_rules() {
        for ok in ["rewapp-prod-backups", "a.b.c", "abc", &"b".repeat(63)] {
            assert!(valid_s3_bucket_name(ok), "{ok}");
        }
        for bad in [
            "ab",
            "Rewapp",
            "rewapp_backups",
            "-rewapp",
            "rewapp.",
            "a..b",
            "192.168.5.4",
            "xn--abc",
            "b-s3alias",
            &"b".repeat(64),
        ] {
            assert!(!valid_s3_bucket_name(bad), "{bad}");
        }
    }

    /// Proves: the RDS tag character class (`[\p{L}\p{Z}\p{N}_.:/=+\-@]`,
    /// from the Unicode tables) agrees, over every Unicode scalar value, with
    /// what is certain from `char`'s own properties (ASCII exactly; every
    /// `\p{N}` of the BMP; no control character), and on samples admits letters and
    /// separators of other scripts but no mark, symbol or format character.
    #[test]
    fn rds_tag_chars_are_letters_separators_digits_and_the_punctuation() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            if c.is_control() {
                assert!(!rds_tag_char(c), "{c:?} is a control character");
            }
            if c.is_ascii() {
                let expected = c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c);
                assert_eq!(rds_tag_char(c), expected, "{c:?}");
            }
            // Outside the BMP the tables' Unicode versions differ (Rust's is
            // newer than regex-syntax's, and AWS's Java older still).
            if c.is_numeric() && c <= '\u{FFFF}' {
                assert!(rds_tag_char(c), "{c:?} is \\p{{N}}");
            }
        }
        for c in [
            'é', 'ß', 'Ж', 'λ', '李', 'ا', '\u{00A0}', '\u{2028}', '\u{3000}',
        ] {
            assert!(rds_tag_char(c), "{c:?}");
        }
        for c in ['\u{0301}', '\u{0940}', '€', '©', '—', '\u{200B}', '😀'] {
            assert!(!rds_tag_char(c), "{c:?}");
        }
    }

    proptest! {
        /// Proves: whatever the text, [`tag_value`] makes a value every
        /// service accepts, and keeps text that already is one.
        #[test]
        fn tag_value_is_always_valid_everywhere(s in any::<String>(), long in ".{250,400}") {
            for t in [s.as_str(), long.as_str()] {
                let v = tag_value(t);
                prop_assert!(valid_tag_value(&v), "{:?} -> {:?}", t, v);
                prop_assert!(check_tags(&[("rempart:reason".into(), v.clone())]).is_ok());
                prop_assert_eq!(tag_value(&v), v.clone());
            }
        }

        /// Proves: [`fit_id`] returns a valid identifier of at most `max`
        /// characters for any slugs, unchanged when it already fits, and
        /// distinct for distinct parts that had to be cut.
        #[test]
        fn fit_id_fits_and_keeps_what_fits(a in ".{0,200}", b in ".{0,200}", max in 40usize..=255) {
            let (a, b) = (slug(&a), slug(&b));
            let id = fit_id("rempart", &[&a, &b], "20251124-020000-od", max);
            prop_assert!(id.len() <= max && rds_style(&id, max), "{}", id);
            let plain = ["rempart", &a, &b, "20251124-020000-od"]
                .iter()
                .filter(|p| !p.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("-");
            if plain.len() <= max {
                prop_assert_eq!(&id, &plain);
            } else {
                let other = fit_id("rempart", &[&a, &format!("{b}x")], "20251124-020000-od", max);
                prop_assert_ne!(&id, &other);
            }
        }

        /// Proves: [`fit_key`] keeps keys within the byte limit, cuts on a
        /// character boundary, and leaves short keys alone.
        #[test]
        fn fit_key_fits(s in any::<String>(), c: char, n in 0usize..3000, max in 16usize..2048) {
            for k in [s.clone(), c.to_string().repeat(n)] {
                let f = fit_key(&k, max);
                prop_assert!(f.len() <= max);
                if k.len() <= max {
                    prop_assert_eq!(&f, &k);
                } else {
                    prop_assert_eq!(&f, &fit_key(&k, max));
                }
            }
        }
    }
}
