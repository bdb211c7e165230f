//! Routing (pure): which channels hear about a notify event, when, and what
//! is cancelled; when a route's digest is due.
//!
//! - *new*: every matching route with `immediate` sends to its channels,
//!   unless the channel had a message about the finding within the route's
//!   `dedup` window (a finding that flaps); below tier 3, quiet hours delay
//!   it to their end. A tier-3 finding on a route with `escalate_after`
//!   also queues the escalation, cancelled at delivery time if by then
//!   someone acknowledged it.
//! - *value_changed*: when the tier rose above the tier it was routed at,
//!   the routes of the new tier hear about it as *escalated*.
//! - *acknowledged*, *accepted*, *resolved*: the channels that were told
//!   about the finding hear the outcome (PagerDuty acknowledge/resolve, a
//!   Slack message edited); a message not sent yet is cancelled instead.

use crate::config::{DigestEvery, QuietHours, RouteConfig};
use crate::findings::Finding;
use crate::notify::{Action, MessageKind};
use crate::store::{DeliveryRow, DeliveryState, NewDelivery, NotifyEventRow, NotifyKind};
use chrono::{DateTime, Utc};

/// What routing one event decided.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub deliveries: Vec<NewDelivery>,
    /// Pending deliveries to cancel, with why.
    pub cancel: Vec<(i64, String)>,
    /// In words, for the event's `outcome` and the logs.
    pub outcome: String,
}

/// One event to route.
pub struct Input<'a> {
    pub event: &'a NotifyEventRow,
    pub finding: &'a Finding,
    pub environment: &'a str,
    /// The tier decided now.
    pub tier: u8,
    /// The highest tier the finding was routed at before (from its deliveries).
    pub routed_tier: Option<u8>,
    /// Every delivery about the finding so far.
    pub earlier: &'a [DeliveryRow],
    pub now: DateTime<Utc>,
}

/// Whether `route` takes a finding of `tier` in `environment`.
pub fn route_matches(route: &RouteConfig, finding: &Finding, environment: &str, tier: u8) -> bool {
    (route.tiers.is_empty() || route.tiers.contains(&tier))
        && (route.targets.is_empty() || route.targets.iter().any(|g| g.matches(&finding.target)))
        && (route.environments.is_empty()
            || route.environments.iter().any(|g| g.matches(environment)))
        && (route.kinds.is_empty() || route.kinds.contains(&finding.kind))
}

/// Routes one event.
pub fn plan(input: &Input<'_>, routes: &[RouteConfig]) -> Plan {
    match input.event.kind {
        NotifyKind::New => tell(input, routes, MessageKind::New, true),
        NotifyKind::ValueChanged => match input.routed_tier {
            Some(before) if input.tier > before => {
                tell(input, routes, MessageKind::Escalated, true)
            }
            Some(before) => Plan {
                outcome: format!(
                    "tier {} (routed at tier {before}): nothing to send",
                    input.tier
                ),
                ..Plan::default()
            },
            None => Plan {
                outcome: "never routed: nothing to update".into(),
                ..Plan::default()
            },
        },
        NotifyKind::Acknowledged => {
            follow_up(input, MessageKind::Acknowledged, Action::Acknowledge)
        }
        NotifyKind::Accepted => follow_up(input, MessageKind::Accepted, Action::Resolve),
        NotifyKind::Resolved => follow_up(input, MessageKind::Resolved, Action::Resolve),
    }
}

fn tell(input: &Input<'_>, routes: &[RouteConfig], kind: MessageKind, escalate: bool) -> Plan {
    let mut plan = Plan::default();
    let mut notes = Vec::new();
    let f = input.finding;
    for route in routes
        .iter()
        .filter(|r| route_matches(r, f, input.environment, input.tier))
    {
        if !route.immediate {
            notes.push(format!("{}: digest only", route.name));
            continue;
        }
        let not_before = match route.quiet_hours {
            Some(q) if input.tier < 3 => {
                quiet_until(q, &route.timezone, input.now).unwrap_or(input.now)
            }
            _ => input.now,
        };
        for channel in &route.channels {
            let key = format!("event/{}/{channel}", input.event.id);
            if plan.deliveries.iter().any(|d| d.key == key) {
                continue;
            }
            let recent = input.earlier.iter().any(|d| {
                &d.channel == channel
                    && d.action == Action::Notify
                    && matches!(d.kind, MessageKind::New | MessageKind::Escalated)
                    && d.state != DeliveryState::Cancelled
                    && d.created_at > input.now - route.dedup
            });
            if recent && kind == MessageKind::New {
                notes.push(format!(
                    "{channel}: told within {} min",
                    route.dedup.num_minutes()
                ));
                continue;
            }
            if not_before > input.now {
                notes.push(format!(
                    "{channel}: quiet hours until {}",
                    not_before.to_rfc3339()
                ));
            }
            plan.deliveries.push(delivery(
                input,
                key,
                channel,
                Some(&route.name),
                kind,
                Action::Notify,
                not_before,
                false,
            ));
        }
        if let (true, 3, Some(esc)) = (escalate, input.tier, &route.escalation) {
            for channel in &esc.to {
                let key = format!("event/{}/escalate/{}/{channel}", input.event.id, route.name);
                let at = input.now + esc.after;
                plan.deliveries.push(delivery(
                    input,
                    key,
                    channel,
                    Some(&route.name),
                    MessageKind::Escalated,
                    Action::Notify,
                    at,
                    true,
                ));
            }
        }
    }
    let sent = plan.deliveries.len();
    plan.outcome = if sent == 0 && notes.is_empty() {
        format!("tier {}: no route matched", input.tier)
    } else {
        let mut s = format!("tier {}: {sent} deliveries", input.tier);
        for n in notes {
            s.push_str("; ");
            s.push_str(&n);
        }
        s
    };
    plan
}

#[allow(clippy::too_many_arguments)]
fn delivery(
    input: &Input<'_>,
    key: String,
    channel: &str,
    route: Option<&str>,
    kind: MessageKind,
    action: Action,
    not_before: DateTime<Utc>,
    only_if_open: bool,
) -> NewDelivery {
    NewDelivery {
        key,
        channel: channel.to_string(),
        route: route.map(str::to_string),
        finding_id: Some(input.finding.id.clone()),
        event_id: Some(input.event.id),
        kind,
        action,
        tier: Some(input.tier),
        created_at: input.now,
        not_before,
        only_if_open,
        message: None,
    }
}

/// Tells the channels that were told about the finding what became of it;
/// cancels what was not sent yet.
fn follow_up(input: &Input<'_>, kind: MessageKind, action: Action) -> Plan {
    let mut plan = Plan::default();
    let told = |d: &&DeliveryRow| {
        d.action == Action::Notify && matches!(d.kind, MessageKind::New | MessageKind::Escalated)
    };
    let mut channels: Vec<(&str, Option<&str>)> = Vec::new();
    for d in input.earlier.iter().filter(told) {
        match d.state {
            DeliveryState::Delivered if !channels.iter().any(|(c, _)| *c == d.channel) => {
                channels.push((&d.channel, d.route.as_deref()));
            }
            // Never sent: no need to send it now, nor its outcome. (An ack
            // leaves pending messages alone: an escalation checks at its
            // deadline whether the finding is still unacknowledged.)
            DeliveryState::Pending if kind != MessageKind::Acknowledged => {
                plan.cancel.push((
                    d.id,
                    format!("the finding was {} before it was sent", kind.as_str()),
                ));
            }
            _ => {}
        }
    }
    for (channel, route) in channels {
        let key = format!("event/{}/{channel}", input.event.id);
        plan.deliveries.push(delivery(
            input, key, channel, route, kind, action, input.now, false,
        ));
    }
    plan.outcome = format!(
        "{}: {} deliveries to channels told before, {} cancelled",
        kind.as_str(),
        plan.deliveries.len(),
        plan.cancel.len()
    );
    plan
}

fn zone(name: &str) -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get(name).unwrap_or(jiff::tz::TimeZone::UTC)
}

fn to_jiff(t: DateTime<Utc>) -> jiff::Timestamp {
    jiff::Timestamp::from_nanosecond(i128::from(t.timestamp_nanos_opt().unwrap_or(0)))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn from_jiff(t: jiff::Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(t.as_nanosecond() as i64)
}

fn civil(t: chrono::NaiveTime) -> jiff::civil::Time {
    use chrono::Timelike;
    jiff::civil::time(t.hour() as i8, t.minute() as i8, 0, 0)
}

/// When quiet hours that hold at `now` end; `None` when they do not hold.
pub fn quiet_until(q: QuietHours, tz: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let tz = zone(tz);
    let local = to_jiff(now).to_zoned(tz.clone());
    let t = local.time();
    let (from, to) = (civil(q.from), civil(q.to));
    let date = local.date();
    let end_date = if from < to {
        (from <= t && t < to).then_some(date)?
    } else if t >= from {
        date.tomorrow().ok()?
    } else if t < to {
        date
    } else {
        return None;
    };
    let end = end_date.to_datetime(to).to_zoned(tz).ok()?;
    Some(from_jiff(end.timestamp()))
}

/// The start of the digest period `now` is in: the last full hour, or the
/// last `hour:00` in the route's zone.
pub fn digest_period(every: DigestEvery, tz: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let tz = zone(tz);
    let local = to_jiff(now).to_zoned(tz.clone());
    let start = match every {
        DigestEvery::Hourly => local
            .date()
            .to_datetime(jiff::civil::time(local.hour(), 0, 0, 0)),
        DigestEvery::Daily { hour } => {
            let at = jiff::civil::time(hour as i8, 0, 0, 0);
            let date = if local.time() >= at {
                local.date()
            } else {
                local.date().yesterday().ok()?
            };
            date.to_datetime(at)
        }
    };
    Some(from_jiff(start.to_zoned(tz).ok()?.timestamp()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveTime, TimeZone};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn hours(from: &str, to: &str) -> QuietHours {
        QuietHours {
            from: NaiveTime::parse_from_str(from, "%H:%M").unwrap(),
            to: NaiveTime::parse_from_str(to, "%H:%M").unwrap(),
        }
    }

    #[test]
    fn quiet_hours_span_midnight_in_the_routes_zone() {
        let q = hours("22:00", "07:00");
        // 23:30 in Amsterdam (UTC+1 in November) is quiet until 07:00 local = 06:00Z.
        assert_eq!(
            quiet_until(q, "Europe/Amsterdam", t("2026-11-21T22:30:00Z")),
            Some(t("2026-11-22T06:00:00Z"))
        );
        // 03:00 local: same night.
        assert_eq!(
            quiet_until(q, "Europe/Amsterdam", t("2026-11-22T02:00:00Z")),
            Some(t("2026-11-22T06:00:00Z"))
        );
        // 12:00 local: not quiet.
        assert_eq!(
            quiet_until(q, "Europe/Amsterdam", t("2026-11-22T11:00:00Z")),
            None
        );
        // Summer time: 07:00 local is 05:00Z.
        assert_eq!(
            quiet_until(q, "Europe/Amsterdam", t("2026-07-01T01:00:00Z")),
            Some(t("2026-07-01T05:00:00Z"))
        );
        // Within one day.
        let lunch = hours("12:00", "13:00");
        assert_eq!(
            quiet_until(lunch, "UTC", t("2026-11-21T12:59:00Z")),
            Some(t("2026-11-21T13:00:00Z"))
        );
        assert_eq!(quiet_until(lunch, "UTC", t("2026-11-21T13:00:00Z")), None);
    }

    #[test]
    fn digest_periods() {
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 14, 37, 5).unwrap();
        assert_eq!(
            digest_period(DigestEvery::Hourly, "UTC", now),
            Some(t("2026-11-21T14:00:00Z"))
        );
        assert_eq!(
            digest_period(DigestEvery::Daily { hour: 9 }, "UTC", now),
            Some(t("2026-11-21T09:00:00Z"))
        );
        // 08:00 local in New York (UTC-5) is before 9: yesterday's period.
        assert_eq!(
            digest_period(
                DigestEvery::Daily { hour: 9 },
                "America/New_York",
                t("2026-11-21T13:00:00Z")
            ),
            Some(t("2026-11-20T14:00:00Z"))
        );
    }
}
