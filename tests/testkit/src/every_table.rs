//! A database with a row in every table, and a fingerprint of what the
//! store reads back from one: for `trellis migrate-to` round trips (the
//! fingerprints of the source and the copy must be equal).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Duration, Utc};
use trellis::domain::{
    AnswerInput, ChannelId, CohortId, CohortSource, DeliveryTarget, EvidenceInput, GuildId, ImpactInput, Instance,
    MessageId, NoteInput, PathStep, PostedPrompt, ProjectInput, ReplySource, Slot, Track,
};
use trellis::export::{Format, Request};
use trellis::store::{NewCheckIn, NewDeliveryFailure, NewNote, Store};

use crate::ids::typed::{ALICE, BOB, CAROL, CHANNEL, OTHER_CHANNEL};
use crate::seed::spec;

/// The cohorts [`seed_every_table`] makes.
pub const COHORTS: [&str; 2] = ["every-table", "every-table-2"];

/// Fills every table of a migrated store: two cohorts (one with a digest
/// channel), members, a pause, three check-ins (posted, posted and missed),
/// answers edited once (form and DM), impact entries, a reminder, a
/// refusal, a departed guild, a stale instance lease, notes, a Staff path
/// (each edited once) and remembered DM channels. Times are around `t0`,
/// ids are what the store hands out. Returns the first cohort's id.
pub async fn seed_every_table(store: &Store, t0: DateTime<Utc>) -> CohortId {
    let week = Duration::weeks(1);
    let mut first = spec(COHORTS[0], CHANNEL, "0 0 9 * * Mon", "Europe/Berlin");
    first.digest_channel_id = Some(ChannelId::new(444_444_444_444_444_444));
    first.reminder_after = Some(std::time::Duration::from_secs(48 * 3600));
    let cohort = store.insert_cohort(&first, CohortSource::File, t0).await.unwrap();
    let other = store
        .insert_cohort(&spec(COHORTS[1], OTHER_CHANNEL, "0 30 17 * * Fri", "UTC"), CohortSource::Discord, t0)
        .await
        .unwrap();
    for (c, users) in [(cohort.id, &[ALICE, BOB, CAROL][..]), (other.id, &[BOB][..])] {
        for &u in users {
            store.join(c, u, t0).await.unwrap();
        }
    }
    store.leave(other.id, BOB, t0 + Duration::days(2)).await.unwrap();
    store.pause(cohort.id, CAROL, t0 + Duration::days(1), t0 + week * 2).await.unwrap();

    let mut checkins = Vec::new();
    for (i, prompt) in [Some("scope-01"), Some("judgment-02"), None].into_iter().enumerate() {
        let at = t0 + week * i as i32;
        let prompt = prompt.map(|id| PostedPrompt {
            id: id.into(),
            track: if i == 0 { Track::Scope } else { Track::Judgment },
            question: format!("Question {id}: what, with \"quotes\", commas, and\nlines?"),
        });
        let posted = prompt.is_some();
        let new = NewCheckIn { cohort_id: cohort.id, occurrence_at: at, closes_at: at + week, prompt };
        let k = store.record_checkin(&new).await.unwrap().expect("new occurrence");
        if posted {
            assert!(store.claim_post(k.id, at, at).await.unwrap());
            store.mark_posted(k.id, MessageId::new(7_000_000 + i as u64), at).await.unwrap();
        }
        checkins.push(k.id);
    }
    assert!(store.claim_digest(checkins[0], t0 + week).await.unwrap());

    let answer = |text: &str, confidence: &str| AnswerInput::parse(text, confidence).unwrap();
    store.upsert_reply(checkins[0], ALICE, &answer("first 🚀 draft", "2"), ReplySource::Modal, t0).await.unwrap();
    let alice = store
        .upsert_reply(
            checkins[0],
            ALICE,
            &answer("Then: shipped, \"quoted\"\nsecond line", "4"),
            ReplySource::Modal,
            t0 + Duration::hours(2),
        )
        .await
        .unwrap();
    store
        .upsert_dm_reply(checkins[0], BOB, &answer("bob by DM", ""), MessageId::new(8_000_001), t0 + Duration::hours(3))
        .await
        .unwrap();
    store.upsert_reply(checkins[1], ALICE, &answer("week two", "5"), ReplySource::Modal, t0 + week).await.unwrap();

    let impact = ImpactInput::parse("p99 down", "820ms → 310ms", "checkout team", "https://x.test/1").unwrap();
    store.insert_impact(cohort.id, ALICE, &impact, t0 + Duration::days(3)).await.unwrap();
    let plain = ImpactInput::parse("docs", "a page", "new hires", "").unwrap();
    store.insert_impact(other.id, BOB, &plain, t0).await.unwrap();

    assert!(store.claim_reminder(checkins[1], CAROL, t0 + week + Duration::hours(48)).await.unwrap());
    let refusal = NewDeliveryFailure {
        cohort_id: cohort.id,
        target: DeliveryTarget::MemberDm(CAROL),
        code: Some(50007),
        reason: "Cannot send messages to this user",
        at: t0 + week,
    };
    assert!(store.record_delivery_failure(&refusal).await.unwrap());
    assert!(store.mark_guild_departed(GuildId::new(999_999_999_999_999_999), t0).await.unwrap());
    // A lease left by a run that stopped long ago: stale, so migrate-to may copy.
    let gone = Instance {
        holder: "gone/1/1".into(),
        host: "old-box".into(),
        host_key: "old-box/boot/ns".into(),
        pid: 4242,
        started_at: t0 - Duration::days(1),
        heartbeat_at: t0,
    };
    assert!(store.insert_instance(Slot::ALL, &gone).await.unwrap());

    for text in ["Good framing.", "Good framing; who else needs to agree?"] {
        let input = NoteInput::parse(text).unwrap();
        let note = NewNote {
            reply_id: alice.id,
            checkin_id: alice.checkin_id,
            cohort_id: cohort.id,
            member_id: ALICE,
            author_id: CAROL,
            author_name: "Carol (mentor)",
            input: &input,
        };
        store.upsert_note(&note, t0 + Duration::days(1)).await.unwrap();
    }
    for (v, at) in [("v1", t0), ("v2", t0 + Duration::days(4))] {
        let project =
            ProjectInput::parse(&format!("CI takes 40 minutes ({v})"), "Every team waits", "web, data").unwrap();
        store.upsert_project(cohort.id, ALICE, &project, at).await.unwrap();
        let evidence = EvidenceInput::parse(&format!("Manager agreed ({v})"), "https://docs.example/rubric").unwrap();
        store.upsert_step(cohort.id, ALICE, PathStep::Expectations, &evidence, at).await.unwrap();
    }
    let plan = EvidenceInput::parse("Plan written", "").unwrap();
    store.upsert_step(cohort.id, ALICE, PathStep::Plan, &plan, t0 + Duration::days(5)).await.unwrap();
    for u in [ALICE, BOB] {
        store.remember_dm_channel(u, ChannelId::new(u.get() ^ (1 << 61)), t0).await.unwrap();
    }
    // The desk: a link Alice used (now her session) and one she did not.
    let grant = trellis::domain::DeskGrant {
        guild_id: trellis::domain::GuildId::new(crate::ids::GUILD),
        user_id: ALICE,
        user_name: "Alice".into(),
        roles: vec![trellis::domain::RoleId::new(crate::ids::MENTOR_ROLE)],
        can_manage: false,
    };
    let soon = t0 + Duration::minutes(10);
    store.insert_desk_link(&"1".repeat(64), &grant, t0, soon).await.unwrap();
    store.insert_desk_link(&"2".repeat(64), &grant, t0, soon).await.unwrap();
    store.redeem_desk_link(&"1".repeat(64), &"3".repeat(64), t0, t0 + Duration::hours(12)).await.unwrap();
    cohort.id
}

/// Everything the store reads back about the cohorts of a database, as
/// text: cohorts, members and their histories, activity, answers, notes,
/// paths, impact, refusals, DM channels, leases, and every export format.
/// Two databases with the same rows give the same fingerprint.
pub async fn fingerprint(store: &Store, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let names = store.cohort_names().await.unwrap();
    let _ = writeln!(out, "cohorts {names:?}");
    for name in &names {
        let cohort = store.cohort_by_name(name).await.unwrap().unwrap();
        let id = cohort.id;
        let _ = writeln!(out, "{cohort:?}");
        let members = store.members(id).await.unwrap();
        let _ = writeln!(out, "members {members:?}");
        for m in &members {
            let _ = writeln!(out, "history {:?}", store.member_history(id, m.user_id).await.unwrap());
            let path = store.staff_path(id, m.user_id).await.unwrap();
            let _ = writeln!(out, "path {path:?}");
            for step in &path.steps {
                let _ = writeln!(out, "step history {:?}", store.step_history(step.id).await.unwrap());
            }
            let _ = writeln!(out, "project history {:?}", store.project_history(id, m.user_id).await.unwrap());
            let _ = writeln!(out, "notes {:?}", store.notes_of_member(id, m.user_id).await.unwrap());
            let _ = writeln!(out, "unseen {:?}", store.unseen_notes(id, m.user_id).await.unwrap());
        }
        let _ = writeln!(out, "activity {:?}", store.cohort_activity(id).await.unwrap());
        let _ = writeln!(out, "replies {:?}", store.replies_of_cohort(id).await.unwrap());
        let _ = writeln!(out, "notes {:?}", store.notes_of_cohort(id).await.unwrap());
        let _ = writeln!(out, "paths {:?}", store.paths_of_cohort(id).await.unwrap());
        let _ = writeln!(out, "impact {:?}", store.impact_of_cohort(id).await.unwrap());
        let _ = writeln!(out, "refusals {:?}", store.delivery_failures(id).await.unwrap());
        let mentoring = store.cohort_mentoring(id).await.unwrap();
        let mut noted: Vec<_> = mentoring.noted.into_iter().collect();
        noted.sort();
        let steps: BTreeMap<_, _> = mentoring.steps.into_iter().collect();
        let _ = writeln!(out, "mentoring {noted:?} {steps:?}");
        let channels: BTreeMap<_, _> = store.dm_channels_of_cohort(id).await.unwrap().into_iter().collect();
        let _ = writeln!(out, "dm channels {channels:?}");
        for k in store.checkins_of_cohort(id).await.unwrap() {
            let _ = writeln!(out, "checkin {k:?} digest {:?}", store.digest_claimed_at(k.id).await.unwrap());
            let _ = writeln!(out, "reminded {:?}", store.reminders_sent(k.id).await.unwrap());
            for r in store.replies_to_checkin(k.id).await.unwrap() {
                let _ = writeln!(out, "reply history {:?}", store.reply_history(r.id).await.unwrap());
            }
            for n in store.notes_of_checkin(k.id).await.unwrap() {
                let _ = writeln!(out, "note history {:?}", store.note_history(n.id).await.unwrap());
            }
        }
        for format in [Format::Csv, Format::Json] {
            let request = Request { cohort: name.clone(), format, member: None };
            let _ = writeln!(out, "export {format}:\n{}", trellis::export::render(store, &request, now).await.unwrap());
        }
        for m in &members {
            let request = Request { cohort: name.clone(), format: Format::Markdown, member: Some(m.user_id) };
            let _ = writeln!(out, "packet:\n{}", trellis::export::render(store, &request, now).await.unwrap());
        }
    }
    let _ = writeln!(out, "lease {:?}", store.all_instances().await.unwrap());
    let _ = writeln!(out, "departed {:?}", store.guild_departed(GuildId::new(999_999_999_999_999_999)).await.unwrap());
    out
}
