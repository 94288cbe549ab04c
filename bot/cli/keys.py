"""`outcome keys`: the Fernet keys that encrypt Slack tokens in the database.

Rotating: put a new key in front of OUTCOME_ENCRYPTION_KEYS (`outcome keys new` makes one),
deploy, run `outcome keys rotate`, then drop the old key. Right after upgrading to the
release that encrypts tokens, run `outcome keys rotate` once every replica runs it: it also
clears the plain-text copies the previous release read.
"""

from __future__ import annotations

from bot import wiring
from bot.core.errors import UsageError
from bot.core.settings import Settings
from bot.slack.installations import rotate_tokens
from bot.storage.crypto import SETTING, Keyring, new_key


def main(args: list[str], settings: Settings) -> int:
    if args == ["new"]:
        print(new_key())
        return 0
    if args == ["rotate"]:
        keyring = Keyring.from_setting(settings.outcome_encryption_keys)
        engine = wiring.open_database(settings)
        try:
            rotation = rotate_tokens(engine, keyring)
        finally:
            engine.dispose()
        print(f"Encrypted {rotation.encrypted} stored Slack token(s) with the newest key of "
              f"{SETTING} and cleared {rotation.cleared} plain-text copies. Keys after the "
              "first one can now be removed.")
        return 0
    raise UsageError("Unknown keys command.", "outcome keys new | outcome keys rotate")
