//! The fake Discord shards as Discord does (issue 13): `GET /gateway/bot`
//! reports the bot's shard count; a session IDENTIFYed as `[id, N]` gets
//! READY and GUILD_CREATEs for its own guilds (`(guild_id >> 22) % N ==
//! id`) and only their events, DMs go to shard 0, and an IDENTIFY with
//! another count is closed with 4010. Unsharded sessions keep getting
//! everything (`e2e_sessions.rs`).

use std::time::Duration;

use fake_discord::{Actor, FakeConfig, FakeDiscord, GatewayClient, GuildSpec, shard_for_guild};
use poise::serenity_prelude as serenity;
use serde_json::Value;
use trellis_testkit::{ALICE, APP, BOB, BOT, SHARD_CHANNEL, SHARD_GUILDS, TOKEN};

/// GUILDS | DIRECT_MESSAGES.
const INTENTS: u64 = 1 | 1 << 12;
const FRAME: Duration = Duration::from_secs(5);

/// A fake with `shards` shards and the four guilds of `SHARD_GUILDS`.
async fn sharded_fake(shards: u64) -> FakeDiscord {
    let mut config = FakeConfig::new(BOT, APP).shards(shards);
    for (i, guild) in SHARD_GUILDS.iter().enumerate() {
        config =
            config.guild(GuildSpec::new(*guild, &format!("Shard guild {i}")).channel(guild + SHARD_CHANNEL, "cohort"));
    }
    FakeDiscord::start(config).await
}

fn ids(list: &Value) -> Vec<u64> {
    let list = list.as_array().expect("a list");
    list.iter().map(|g| g["id"].as_str().and_then(|s| s.parse().ok()).expect("an id")).collect()
}

/// Events of `name` each session (in IDENTIFY order) has received.
fn received(fake: &FakeDiscord, name: &str) -> Vec<u64> {
    fake.sessions().iter().map(|s| s.received(name)).collect()
}

#[test]
fn the_shard_guilds_of_the_testkit_fall_one_on_each_shard() {
    for (i, guild) in SHARD_GUILDS.iter().enumerate() {
        assert_eq!(shard_for_guild(*guild, 4), i as u64);
        assert_eq!(shard_for_guild(guild + SHARD_CHANNEL, 4), i as u64, "the low bits do not move a guild");
        assert_eq!(shard_for_guild(*guild, 2), i as u64 % 2);
        assert_eq!(shard_for_guild(*guild, 1), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_sessions_get_only_their_guilds_and_events_and_dms_go_to_shard_0() {
    let fake = sharded_fake(4).await;
    let http = serenity::HttpBuilder::new(TOKEN).proxy(fake.api_base()).ratelimiter_disabled(true).build();
    let gateway = http.get_bot_gateway().await.expect("GET /gateway/bot");
    assert_eq!(gateway.shards, 4);
    assert_eq!(gateway.session_start_limit.max_concurrency, 1);

    // Shards 0, 2 and 3 connect; shard 1 not yet.
    let mut sessions = Vec::new();
    for shard in [0u64, 2, 3] {
        let mut client = GatewayClient::connect(&fake.gateway_url()).await;
        let ready = client.identify(TOKEN, INTENTS, [shard, 4]).await;
        assert_eq!(ready["shard"], serde_json::json!([shard, 4]));
        assert_eq!(ids(&ready["guilds"]), vec![SHARD_GUILDS[shard as usize]], "READY of shard {shard}");
        let created = client.wait_dispatch("GUILD_CREATE", FRAME).await;
        assert_eq!(created["d"]["id"], SHARD_GUILDS[shard as usize].to_string());
        sessions.push(client);
    }
    assert_eq!(received(&fake, "GUILD_CREATE"), vec![1, 1, 1], "one GUILD_CREATE each: its own guild");

    // A command in the guild of shard 2 goes to shard 2 only.
    let g2 = SHARD_GUILDS[2];
    let h = fake.slash_command(Actor::in_guild(g2, g2 + SHARD_CHANNEL, ALICE).command("progress"));
    let frame = sessions[1].wait_dispatch("INTERACTION_CREATE", FRAME).await;
    assert_eq!(frame["d"]["id"], h.id.to_string());
    assert_eq!(received(&fake, "INTERACTION_CREATE"), vec![0, 1, 0]);

    // A DM, and a command in a DM, go to shard 0 only.
    let dm = fake.dm_channel_for(BOB);
    let m = fake.dm_message(BOB, dm, "shipped it");
    assert_eq!(sessions[0].wait_dispatch("MESSAGE_CREATE", FRAME).await["d"]["id"], m.to_string());
    let in_dm = fake.slash_command(Actor::in_dm(dm, BOB).command("progress"));
    assert_eq!(sessions[0].wait_dispatch("INTERACTION_CREATE", FRAME).await["d"]["id"], in_dm.id.to_string());
    assert_eq!(received(&fake, "MESSAGE_CREATE"), vec![1, 0, 0]);
    assert_eq!(received(&fake, "INTERACTION_CREATE"), vec![1, 1, 0]);

    // The bot removed from shard 3's guild: GUILD_DELETE to shard 3 only.
    fake.remove_bot_from_guild(SHARD_GUILDS[3]);
    assert_eq!(sessions[2].wait_dispatch("GUILD_DELETE", FRAME).await["d"]["id"], SHARD_GUILDS[3].to_string());
    assert_eq!(received(&fake, "GUILD_DELETE"), vec![0, 0, 1]);

    // Shard 1 has no session: its guild's command waits for the next
    // session of shard 1, not for another shard's.
    let g1 = SHARD_GUILDS[1];
    let waiting = fake.slash_command(Actor::in_guild(g1, g1 + SHARD_CHANNEL, ALICE).command("progress"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(received(&fake, "INTERACTION_CREATE"), vec![1, 1, 0], "no other shard got it");
    let mut shard1 = GatewayClient::connect(&fake.gateway_url()).await;
    let ready = shard1.identify(TOKEN, INTENTS, [1, 4]).await;
    assert_eq!(ids(&ready["guilds"]), vec![g1]);
    shard1.wait_dispatch("GUILD_CREATE", FRAME).await;
    let late = shard1.next_dispatch(FRAME).await;
    assert_eq!(
        (late["t"].as_str(), late["d"]["id"].as_str()),
        (Some("INTERACTION_CREATE"), Some(&*waiting.id.to_string()))
    );
    assert_eq!(received(&fake, "INTERACTION_CREATE"), vec![1, 1, 0, 1]);
    assert_eq!(fake.session_count(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identify_with_another_shard_count_or_an_id_past_it_is_closed_with_4010() {
    let fake = sharded_fake(4).await;
    for shard in [[0, 1], [0, 2], [1, 8], [4, 4]] {
        let mut client = GatewayClient::connect(&fake.gateway_url()).await;
        client.send_identify(TOKEN, INTENTS, shard).await;
        assert_eq!(client.wait_close(FRAME).await, Some(4010), "IDENTIFY as {shard:?}");
    }
    assert_eq!(fake.identify_count(), 4, "each IDENTIFY was seen");
    assert!(fake.sessions().is_empty(), "none started a session");

    // An unsharded fake refuses a sharded IDENTIFY too, and takes [0, 1].
    let fake = sharded_fake(1).await;
    let mut client = GatewayClient::connect(&fake.gateway_url()).await;
    client.send_identify(TOKEN, INTENTS, [1, 2]).await;
    assert_eq!(client.wait_close(FRAME).await, Some(4010));
    let mut client = GatewayClient::connect(&fake.gateway_url()).await;
    let ready = client.identify(TOKEN, INTENTS, [0, 1]).await;
    assert_eq!(ids(&ready["guilds"]).len(), 4, "one shard serves every guild");
}
