//! The desk in a real browser (headless Chromium over WebDriver): a mentor
//! signs in through the link the fake Discord received, reads a week,
//! writes a note and the member's DM arrives at the fake, searches, and
//! signs out. Answers holding `<script>`, `<img onerror>` and `</textarea>`
//! render as text and run nothing. Also at a phone's width. Writes the
//! screenshots README shows (`docs/desk-*.png`) when TRELLIS_SCREENSHOTS
//! names a folder.

use fake_discord::Actor;
use trellis_testkit::bot::*;
use trellis_testkit::browser::{self, Chromium};
use trellis_testkit::desk::desk_link;
use trellis_testkit::ids::*;

const QUIET: &str = "0 0 9 29 2 *";
const HOSTILE: [(u64, &str); 3] = [
    (ALICE, "We cut the billing migration in two <script>alert('xss')</script> and shipped half."),
    (BOB, "Capacity plan for the migration <img src=x onerror=alert(1)> reviewed by SRE."),
    (CAROL, "Closed the form early </textarea><b>bold?</b> and wrote the postmortem."),
];

fn mentor() -> Actor {
    member(MENTOR).roles(vec![MENTOR_ROLE])
}

async fn week_with_hostile_answers() -> Bot {
    let bot = Bot::start().await;
    bot.setup(QUIET, None).await;
    let (_, custom_id) = bot.open_checkin(CHANNEL).await;
    for (user, text) in HOSTILE {
        let h = bot.fake.modal_submit(&member(user), &custom_id, &[("answer", text), ("confidence", "3")]);
        assert_eq!(bot.fake.wait_interaction_response(&h, WAIT).await.kind, 4);
    }
    bot
}

fn keep(name: &str, png: &[u8]) {
    if let Ok(dir) = std::env::var("TRELLIS_SCREENSHOTS") {
        std::fs::write(std::path::Path::new(&dir).join(name), png).expect("screenshot written");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mentor_signs_in_reads_the_week_notes_an_answer_searches_and_signs_out_in_chromium() {
    if !browser::available() {
        return;
    }
    let bot = week_with_hostile_answers().await;
    let link = desk_link(&bot.fake, mentor()).await;
    let chrome = Chromium::start(1200).await;

    // The link asks to continue; continuing signs in and drops the token from the address bar.
    chrome.goto(&link).await;
    assert!(chrome.source().await.contains("Continue to the desk"));
    chrome.click("button.primary").await;
    // The token left the address bar.
    chrome.wait_url_is(&format!("{}/", bot.desk)).await;
    let cookie = chrome.cookies().await.into_iter().find(|c| c["name"] == "trellis_desk").expect("a session cookie");
    assert_eq!(cookie["httpOnly"], true, "{cookie}");

    // The cohort, then the week.
    chrome.click("main a[href^='/cohorts/']").await;
    chrome.wait_url("/cohorts/").await;
    assert!(chrome.count("table.grid tbody tr").await >= 3, "{}", chrome.source().await);
    chrome.click("table.grid thead a").await;
    chrome.wait_url("/checkins/").await;
    for (_, text) in HOSTILE {
        assert!(chrome.source().await.contains("answer"), "a week page");
        let shown = chrome.text("main").await;
        assert!(shown.contains(text), "rendered as text: {text}\n{shown}");
    }
    assert!(!chrome.alert_open().await, "no markup of an answer ran");
    assert_eq!(chrome.count("main img").await, 0, "an answer's <img> is text, not an image");
    assert_eq!(chrome.count("main b").await, 0, "an answer's <b> is text");
    keep("desk-checkin.png", &chrome.screenshot().await);

    // A note, from the form under Alice's answer: saved and DMed to her.
    let dm_channel = bot.fake.dm_channel_for(ALICE);
    let before = bot.fake.messages_in(dm_channel).len();
    let note = "Halving it was the right call. Write down what the second half needs.";
    chrome.type_into("article.answer textarea[name=note]", note).await;
    chrome.click("article.answer .note-form button").await;
    chrome.wait_url("saved=").await;
    assert!(chrome.text(".flash").await.contains("Note saved and sent"), "{}", chrome.source().await);
    let dms = bot.fake.wait_messages(dm_channel, before + 1, WAIT).await;
    assert_eq!(dms.last().unwrap().embeds[0]["description"], note);
    assert!(chrome.text("aside.note").await.contains(note));

    // Search from the header.
    chrome.type_into("header input[type=search]", "migration").await;
    chrome.click("header form.search button").await;
    chrome.wait_url("/search?q=migration").await;
    assert_eq!(chrome.count("ol.hits li").await, 2, "{}", chrome.source().await);
    assert!(chrome.count("ol.hits mark").await >= 2);
    keep("desk-search.png", &chrome.screenshot().await);
    chrome.click("ol.hits a").await;
    chrome.wait_url("#answer-").await;

    // Sign out: the session ends; the desk asks to sign in again.
    chrome.click("form.signout button").await;
    chrome.wait_url("/signout").await;
    assert!(chrome.text("main").await.contains("signed out"), "{}", chrome.source().await);
    chrome.goto(&format!("{}/", bot.desk)).await;
    assert!(chrome.text("main").await.contains("Run /desk"), "{}", chrome.source().await);
    chrome.quit().await;
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_reads_their_own_desk_at_a_phones_width() {
    if !browser::available() {
        return;
    }
    let bot = week_with_hostile_answers().await;
    let link = desk_link(&bot.fake, member(ALICE)).await;
    let chrome = Chromium::start(390).await;
    chrome.goto(&link).await;
    chrome.click("button.primary").await;
    chrome.wait_url_is(&format!("{}/", bot.desk)).await;
    chrome.click("main a[href*='/members/']").await;
    chrome.wait_url("/members/").await;
    let page = chrome.text("main").await;
    assert!(page.contains("Your record") && page.contains(HOSTILE[0].1), "{page}");
    assert!(!page.contains(HOSTILE[1].1), "never another member's answer");
    assert!(!chrome.alert_open().await);
    assert_eq!(chrome.count("textarea").await, 0, "members write no notes");
    keep("desk-member-phone.png", &chrome.screenshot().await);
    chrome.click("a.button").await;
    chrome.wait_url("/packet").await;
    assert!(chrome.text("main").await.contains("Promotion packet"), "{}", chrome.source().await);
    chrome.quit().await;
    bot.stop().await;
}
