//! A refused token: [`FakeDiscord::refuse_token`] makes every
//! authenticated REST call answer 401 `{"code": 0, "message": "401:
//! Unauthorized"}` and closes IDENTIFY with 4004 (Authentication failed), as
//! for a token that was reset; [`FakeDiscord::refuse_token_at_gateway`] does
//! only the latter.

use super::FakeDiscord;
use super::state::State;

/// Which calls a refused token fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum TokenRefusal {
    #[default]
    None,
    /// REST 401 and gateway 4004.
    Everywhere,
    /// Gateway 4004 only.
    GatewayOnly,
}

impl FakeDiscord {
    /// From now on the token is refused everywhere: REST 401, IDENTIFY 4004.
    pub fn refuse_token(&self) {
        self.shared.lock().token_refusal = TokenRefusal::Everywhere;
    }

    /// From now on IDENTIFY is closed with 4004; REST still accepts the token
    /// (a token reset between the bot's REST check and its IDENTIFY).
    pub fn refuse_token_at_gateway(&self) {
        self.shared.lock().token_refusal = TokenRefusal::GatewayOnly;
    }
}

/// REST: whether an authenticated call must be refused with 401.
pub(crate) fn rest_token_refused(st: &State) -> bool {
    st.token_refusal == TokenRefusal::Everywhere
}

/// Gateway: whether IDENTIFY must be closed with 4004.
pub(crate) fn gateway_token_refused(st: &State) -> bool {
    st.token_refusal != TokenRefusal::None
}
