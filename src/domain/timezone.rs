//! Time zones as people type them: "sao paulo", "São Paulo", "newyork",
//! "UTC+2", "gmt-5". Suggestions for `/cohort setup`'s autocomplete.

use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use unicode_normalization::UnicodeNormalization;

/// One suggestion: the IANA name to store, and what the picker shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneChoice {
    /// The IANA name, e.g. `America/Sao_Paulo`.
    pub name: &'static str,
    /// The name and its UTC offset at the time asked, e.g.
    /// `America/Sao_Paulo (UTC−03:00)`; under Discord's 100 characters.
    pub label: String,
}

/// Up to `limit` zones for what was typed so far, best first.
///
/// A query that reads as a UTC offset (`UTC+2`, `gmt-5`, `+05:30`) offers the
/// zones whose offset is that one at `now` (mind that `Etc/GMT+2` is UTC−2:
/// offsets are computed, never read off the name). Anything else matches the
/// zone names case- and accent-insensitively, with spaces, underscores and
/// slashes alike or left out: "sao paulo", "SaoPaulo" and "são_paulo" all
/// find `America/Sao_Paulo`. Names whose city starts with the query come first.
pub fn suggest(query: &str, now: DateTime<Utc>, limit: usize) -> Vec<ZoneChoice> {
    let zones = chrono_tz::TZ_VARIANTS.iter();
    let mut found: Vec<(u8, &'static str)> = match parse_offset(query) {
        // Area/City names first; legacy aliases (`EET`, `Egypt`, `Etc/GMT-2`) after.
        Some(offset) => zones
            .filter(|tz| offset_at(**tz, now) == offset)
            .map(|tz| (u8::from(!tz.name().contains('/') || tz.name().starts_with("Etc/")), tz.name()))
            .collect(),
        None => {
            let needle = fold(query);
            let compact: String = needle.split(' ').collect();
            zones
                .filter_map(|tz| {
                    let name = fold(tz.name());
                    let city = name.rsplit(' ').next().unwrap_or(&name).to_string();
                    let city_start = name.rfind(&city).map(|at| &name[at..]).unwrap_or(&name);
                    let rank = if city_start.starts_with(&needle) || city_start.replace(' ', "").starts_with(&compact) {
                        0
                    } else if name.contains(&needle) || name.replace(' ', "").contains(&compact) {
                        1
                    } else {
                        return None;
                    };
                    Some((rank, tz.name()))
                })
                .collect()
        }
    };
    found.sort();
    found
        .into_iter()
        .take(limit)
        .map(|(_, name)| {
            let tz: Tz = name.parse().unwrap_or(Tz::UTC);
            ZoneChoice { name, label: format!("{name} ({})", format_offset(offset_at(tz, now))) }
        })
        .collect()
}

/// Lowercase, accents dropped, `_`, `/` and `-` as spaces, runs of spaces as one.
fn fold(text: &str) -> String {
    let plain: String = text
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if matches!(c, '_' | '/' | '-') { ' ' } else { c })
        .collect();
    plain.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Seconds east of UTC, for `UTC+2`, `gmt-5`, `+05:30`, `UTC+5:45`, `utc−3`.
fn parse_offset(query: &str) -> Option<i32> {
    let q = query.trim().to_lowercase();
    let q = q.strip_prefix("utc").or_else(|| q.strip_prefix("gmt")).unwrap_or(&q).trim();
    let (sign, rest) = match q.chars().next()? {
        '+' => (1, &q[1..]),
        '-' => (-1, &q[1..]),
        '−' => (-1, &q['−'.len_utf8()..]),
        _ => return None,
    };
    let (hours, minutes) = match rest.split_once(':') {
        Some((h, m)) => (h.trim().parse::<i32>().ok()?, m.trim().parse::<i32>().ok()?),
        // `0530`: four ASCII digits (a byte index into anything else could
        // fall inside a character).
        None if rest.len() == 4 && rest.is_ascii() => (rest[..2].parse().ok()?, rest[2..].parse().ok()?),
        None => (rest.trim().parse().ok()?, 0),
    };
    ((0..=14).contains(&hours) && (0..60).contains(&minutes)).then_some(sign * (hours * 3600 + minutes * 60))
}

fn offset_at(tz: Tz, now: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&now.naive_utc()).fix().local_minus_utc()
}

/// `UTC+01:00`, `UTC−03:00`, `UTC+05:45`, `UTC+00:00`.
fn format_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '−' } else { '+' };
    let minutes = seconds.abs() / 60;
    format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mid-January: northern winter, southern summer.
    fn january() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2027-01-15T12:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn names(query: &str) -> Vec<&'static str> {
        suggest(query, january(), 25).into_iter().map(|c| c.name).collect()
    }

    /// Every match, past what one Discord picker shows.
    fn all_names(query: &str) -> Vec<&'static str> {
        suggest(query, january(), 1000).into_iter().map(|c| c.name).collect()
    }

    #[test]
    fn cities_match_as_people_type_them() {
        for query in ["sao paulo", "São Paulo", "SAO_PAULO", "saopaulo", "paulo"] {
            assert!(names(query).contains(&"America/Sao_Paulo"), "{query}: {:?}", names(query));
        }
        for query in ["new york", "newyork", "New_York", "america/new"] {
            assert_eq!(names(query).first(), Some(&"America/New_York"), "{query}");
        }
        assert_eq!(names("berlin"), vec!["Europe/Berlin"]);
        assert_eq!(names("zürich"), vec!["Europe/Zurich"]);
        assert!(names("atlantis").is_empty());
    }

    #[test]
    fn labels_show_the_current_offset() {
        let berlin = &suggest("berlin", january(), 25)[0];
        assert_eq!(berlin.label, "Europe/Berlin (UTC+01:00)");
        let summer = DateTime::parse_from_rfc3339("2027-07-15T12:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(suggest("berlin", summer, 25)[0].label, "Europe/Berlin (UTC+02:00)");
        assert_eq!(suggest("kathmandu", january(), 25)[0].label, "Asia/Kathmandu (UTC+05:45)");
        assert_eq!(suggest("sao paulo", january(), 25)[0].label, "America/Sao_Paulo (UTC−03:00)");
    }

    #[test]
    fn an_offset_offers_the_zones_that_have_it_now() {
        let plus_two = all_names("UTC+2");
        assert!(plus_two.contains(&"Africa/Cairo") && plus_two.contains(&"Etc/GMT-2"), "{plus_two:?}");
        assert!(!plus_two.contains(&"Etc/GMT+2"), "Etc/GMT+2 is UTC−2");
        assert!(!plus_two.contains(&"Europe/Berlin"), "Berlin is UTC+1 in January");
        let minus_five = all_names("gmt-5");
        assert_eq!(names("gmt-5").len(), 25);
        assert!(names("gmt-5").iter().all(|n| n.contains('/') && !n.starts_with("Etc/")), "area/city names first");
        assert!(minus_five.contains(&"America/New_York") && minus_five.contains(&"Etc/GMT+5"), "{minus_five:?}");
        assert!(names("+05:30").contains(&"Asia/Kolkata"));
        assert!(names("utc+5:45").contains(&"Asia/Kathmandu"));
        for choice in suggest("UTC+2", january(), 25) {
            assert!(choice.label.ends_with("(UTC+02:00)"), "{choice:?}");
            assert!(choice.label.chars().count() <= 100);
        }
    }
}
