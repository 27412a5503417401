//! Serenity's ids and the domain's, converted in one place: `From` both
//! ways for every kind of snowflake the edge handles. The domain keeps its
//! own types so that the engine and the store never depend on serenity.

use poise::serenity_prelude as serenity;

use crate::domain;

macro_rules! both_ways {
    ($($name:ident),* $(,)?) => {$(
        impl From<serenity::$name> for domain::$name {
            fn from(id: serenity::$name) -> Self {
                domain::$name::new(id.get())
            }
        }

        impl From<&serenity::$name> for domain::$name {
            fn from(id: &serenity::$name) -> Self {
                domain::$name::new(id.get())
            }
        }

        impl From<domain::$name> for serenity::$name {
            fn from(id: domain::$name) -> Self {
                serenity::$name::new(id.get())
            }
        }
    )*};
}

both_ways!(GuildId, ChannelId, UserId, RoleId, MessageId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        let n = 300_000_000_000_000_003;
        assert_eq!(domain::UserId::from(serenity::UserId::new(n)), domain::UserId::new(n));
        assert_eq!(serenity::UserId::from(domain::UserId::new(n)), serenity::UserId::new(n));
        assert_eq!(domain::GuildId::from(serenity::GuildId::new(n)).get(), n);
        assert_eq!(domain::ChannelId::from(serenity::ChannelId::new(n)).get(), n);
        assert_eq!(domain::RoleId::from(serenity::RoleId::new(n)).get(), n);
        assert_eq!(serenity::MessageId::from(domain::MessageId::new(n)).get(), n);
    }
}
